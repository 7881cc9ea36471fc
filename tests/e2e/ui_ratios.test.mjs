// The options page's Ratios screen (New API ratio sync), driven through real clicks in headless
// Chromium. The managed site is one mockgw; its upstream is a second mockgw (fetched for real by
// the site mock over 127.0.0.1), a third that does not expose /api/ratio_config and later breaks,
// and a dead port. Screenshots: target/e2e-artifacts/ui-ratios-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, screenshot } from './harness.mjs';

const TOKEN = 'sk-e2e-ratios-secret-93ac1f';
const LONG = { timeout: 60000 };

let ext;
let gw;
let up;
let flaky;
let admin;
let page;

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '2', '--token', TOKEN]);
  up = await startGateway(['--flavor', 'new-api', '--channels', '0', '--seed', '2']);
  await up.control('options', {
    ModelRatio: JSON.stringify({ 'gpt-4o': 2.5, 'gpt-4o-mini': 0.075, 'deepseek-chat': 0.14, 'new-model': 3 }),
    CompletionRatio: JSON.stringify({ 'gpt-4o': 4, 'gpt-4o-mini': 4, 'deepseek-chat': 2, 'new-model': 1 }),
  });
  flaky = await startGateway(['--flavor', 'new-api', '--channels', '0', '--seed', '3']);
  admin = await startGateway(['--flavor', 'new-api', '--channels', '1', '--token', TOKEN, '--role', 'admin']);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
});
after(async () => {
  await ext?.close();
  for (const g of [gw, up, flaky, admin]) g?.stop();
});

async function ratioMap(mock, key) {
  const { options } = await mock.control('options');
  return JSON.parse(options[key] ?? '{}');
}

function cell(model, field, upstream) {
  return page.locator(
    `[data-testid="ratio-row"][data-model="${model}"][data-field="${field}"] [data-testid="ratio-cell"][data-upstream="${upstream}"]`,
  );
}

test('ratios: fetch a diff, pick a column and a cell, preview, apply, revert', async () => {
  await page.goto(ext.url('options.html'));
  const saved = await command(page, { save_site: {
    site: { id: 'main', name: 'Main', kind: 'new-api', base_url: gw.url, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  await page.goto(ext.url('options.html#ratios'));
  await page.reload();
  await page.getByTestId('nav-ratios').click();

  // Sources: two channels and both presets.
  const sources = page.getByTestId('ratio-source');
  await sources.nth(3).waitFor(LONG);
  assert.equal(await sources.count(), 4);
  assert.match(await page.getByTestId('ratio-sources').innerText(), /official preset/);

  // A custom upstream is checked before it is added.
  const form = page.getByTestId('ratio-custom-form');
  await form.getByLabel('Name').fill('bad');
  await form.getByLabel('Base URL').fill('ftp://127.0.0.1');
  await page.getByTestId('ratio-add-custom').click();
  await page.getByTestId('error').getByText(/must start with http/).waitFor();
  await form.getByLabel('Name').fill('friend');
  await form.getByLabel('Base URL').fill(`${up.url}/`);
  await page.getByTestId('ratio-add-custom').click();
  await page.getByTestId('ratio-customs').getByText('friend').waitFor(LONG);
  // An upstream nobody listens on: the site cannot read it, so it is not added.
  await form.getByLabel('Name').fill('dead');
  await form.getByLabel('Base URL').fill('http://127.0.0.1:9');
  await page.getByTestId('ratio-add-custom').click();
  await page.getByTestId('error').getByText(/Upstream dead was not added: the site could not read it/).waitFor(LONG);
  // /api/ratio_config typed by hand on an upstream that does not expose it (403, new-api
  // controller/ratio_config.go): added with the public /api/pricing instead, and said so.
  await form.getByLabel('Name').fill('flaky');
  await form.getByLabel('Base URL').fill(flaky.url);
  await form.getByLabel('Endpoint').fill('/api/ratio_config');
  await page.getByTestId('ratio-add-custom').click();
  await page.getByText(/\/api\/ratio_config is not exposed on this upstream .* read from the public \/api\/pricing instead/).waitFor(LONG);
  const customs = await page.getByTestId('ratio-customs').innerText();
  assert.match(customs, new RegExp(`friend — ${up.url} /api/pricing`));
  assert.match(customs, new RegExp(`flaky — ${flaky.url} /api/pricing`));
  assert.doesNotMatch(customs, /dead/);

  // An upstream that breaks after it was added: a failed test, not a failed fetch.
  await flaky.control('faults', { kind: 'status', status: 502, path: '/api/pricing' });
  await page.getByTestId('ratio-fetch').click();
  const table = page.getByTestId('ratio-table');
  await table.waitFor(LONG);
  assert.match(await page.getByTestId('ratio-failed').innerText(), /flaky: 502/);
  assert.equal(await page.locator('[data-testid="ratio-column"][data-upstream="flaky"]').getByTestId('take-column').isVisible(), false,
    'a failed upstream offers nothing to take');
  const gpt = page.locator('[data-testid="ratio-row"][data-model="gpt-4o"][data-field="model_ratio"]');
  assert.match(await gpt.innerText(), /1\.25/);
  assert.equal(await cell('gpt-4o', 'model_ratio', 'friend').innerText(), '2.5');
  // Each upstream's values start under its own header (they once sat right-aligned under the next
  // upstream's header), and a column that could not be read says so with a dash.
  const header = await page.locator('[data-testid="ratio-column"][data-upstream="friend"]').boundingBox();
  const value = await cell('gpt-4o', 'model_ratio', 'friend').boundingBox();
  assert.ok(value.x >= header.x && value.x - header.x < 24,
    `friend's value starts at x=${value.x}, its header at x=${header.x}`);
  assert.equal(await gpt.getByTestId('ratio-unread').innerText(), '—');
  // Only differing (the default) hides rows no upstream offers a value for; off shows every row.
  const counts = async () => {
    const m = (await page.getByTestId('ratio-diff').locator('.row .muted').first().innerText()).match(/(\d+) of (\d+) rows shown/);
    return [Number(m[1]), Number(m[2])];
  };
  const [shownOn, total] = await counts();
  assert.equal(await page.getByTestId('ratio-row').count(), shownOn);
  await page.getByTestId('ratio-only-differing').uncheck();
  await page.getByText(`${total} of ${total} rows shown`).waitFor();
  assert.equal(await page.getByTestId('ratio-row').count(), total);
  assert.ok(shownOn <= total);
  await page.getByTestId('ratio-only-differing').check();
  await page.getByText(`${shownOn} of ${total} rows shown`).waitFor();
  // Search narrows the table.
  await page.getByTestId('ratio-search').fill('deepseek');
  await page.locator('[data-testid="ratio-row"][data-model="gpt-4o"]').first().waitFor({ state: 'detached' });
  assert.ok((await page.getByTestId('ratio-row').count()) >= 1);
  await page.getByTestId('ratio-search').fill('');
  await gpt.waitFor();
  await screenshot(page, 'ui-ratios-diff-en-light');

  // Take friend's column, then drop one cell again.
  await page.locator('[data-testid="ratio-column"][data-upstream="friend"]').getByTestId('take-column').click();
  await page.getByText(/^\d+ value\(s\) picked$/).waitFor();
  const picked = Number((await page.getByText(/value\(s\) picked/).innerText()).match(/\d+/)[0]);
  assert.ok(picked >= 3, `picked ${picked}`);
  assert.equal(await cell('gpt-4o', 'model_ratio', 'friend').getAttribute('aria-pressed'), 'true');
  await cell('deepseek-chat', 'model_ratio', 'friend').click();
  assert.equal(await cell('deepseek-chat', 'model_ratio', 'friend').getAttribute('aria-pressed'), 'false');
  await page.getByText(`${picked - 1} value(s) picked`).waitFor();

  await page.getByTestId('ratio-preview').click();
  const preview = page.getByTestId('ratio-preview-card');
  await preview.waitFor(LONG);
  const gptPreview = await preview.locator('[data-testid="ratio-preview-row"][data-model="gpt-4o"]').innerText();
  assert.match(gptPreview, /model_ratio: 1\.25 → 2\.5/);
  assert.match(await preview.locator('[data-model="new-model"]').innerText(), /model_ratio: — → 3/);
  assert.equal(await preview.locator('[data-model="deepseek-chat"]').count(), 0, 'the dropped cell is not applied');
  await screenshot(page, 'ui-ratios-preview-en-light');
  // Chinese, dark.
  await page.getByTestId('lang').selectOption('zh-CN');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByText('预览：旧值 → 新值').waitFor();
  await screenshot(page, 'ui-ratios-preview-zh-dark');
  await page.getByTestId('lang').selectOption('en');
  await page.emulateMedia({ colorScheme: 'light' });

  const before = await ratioMap(gw, 'ModelRatio');
  assert.equal(before['gpt-4o'], 1.25);
  await page.getByTestId('ratio-apply').click();
  const applied = page.getByTestId('ratio-applied');
  await applied.waitFor(LONG);
  const appliedText = await applied.innerText();
  assert.match(appliedText, /Applied\. Snapshot \S+: \d+ key\(s\) written and read back/);
  assert.match(appliedText, /Read back verified: Yes/);
  assert.match(appliedText, /fetch again to compare/);
  const after = await ratioMap(gw, 'ModelRatio');
  assert.equal(after['gpt-4o'], 2.5);
  assert.equal(after['new-model'], 3);
  assert.equal(after['deepseek-chat'], 0.07, 'the dropped pick was not written');
  assert.equal(after['claude-sonnet-4'], 1.5, 'a model the upstream lacks is kept');

  const snap = page.getByTestId('ratio-snapshot');
  await snap.first().waitFor(LONG);
  assert.equal(await snap.count(), 1);
  assert.match(await snap.first().innerText(), /ModelRatio/);
  await screenshot(page, 'ui-ratios-applied-en-light');

  await snap.first().getByTestId('ratio-revert').click();
  await page.getByText(/^Reverted \S+: restored .*ModelRatio/).waitFor(LONG);
  const reverted = await ratioMap(gw, 'ModelRatio');
  assert.equal(reverted['gpt-4o'], 1.25);
  assert.equal(reverted['new-model'], undefined);
  await page.getByTestId('ratio-snapshot').getByText('Reverted').waitFor();
  assert.equal(await page.getByTestId('ratio-revert').isDisabled(), true);
  assert.ok(!(await page.content()).includes(TOKEN), 'the token never comes back to the page');
  await page.getByTestId('lang').selectOption('zh-CN');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.getByText('快照').first().waitFor();
  await screenshot(page, 'ui-ratios-reverted-zh-dark');
  await page.getByTestId('lang').selectOption('en');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('ratios: an admin (not root) token gets the permission error; other site types get a notice', async () => {
  for (const site of [
    { id: 'admin', name: 'Admin only', kind: 'new-api', base_url: admin.url, credentials: { token: TOKEN, user_id: 1 } },
    { id: 'velo', name: 'Veloera', kind: 'veloera', base_url: admin.url, credentials: { token: TOKEN, user_id: 1 } },
  ]) {
    const r = await command(page, { save_site: { site } });
    assert.equal(r.reply, 'site', JSON.stringify(r));
  }
  await page.reload();
  await page.getByTestId('nav-ratios').click();
  await page.getByTestId('site-picker').selectOption('admin');
  const err = page.getByTestId('error').first();
  await err.waitFor(LONG);
  assert.match(await err.innerText(), /root/i);
  assert.equal(await page.getByTestId('ratio-source').count(), 0, 'no sources of the previous site');
  await screenshot(page, 'ui-ratios-permission-en-light');

  await page.getByTestId('site-picker').selectOption('velo');
  await page.getByTestId('ratios-unsupported').waitFor();
  assert.equal(await page.getByTestId('ratio-fetch').count(), 0, 'no actions for other site types');
});
