// The options page and the popup, driven through real clicks and typing in headless Chromium,
// against mockgw on 127.0.0.1. Screenshots of every screen, in English and Chinese, light and
// dark, go to target/e2e-artifacts/ui-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, startGateway, screenshot, waitFor, command } from './harness.mjs';

const TOKEN = 'sk-e2e-ui-secret-4b1d77';
const LONG = { timeout: 60000 };

let ext;
let gw;
let page;

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '12', '--token', TOKEN]);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
});
after(async () => {
  await ext?.close();
  gw?.stop();
});

/** Screenshots of the current screen in both languages and both colour schemes. */
async function shots(p, name) {
  for (const lang of ['en', 'zh-CN']) {
    await p.getByTestId('lang').selectOption(lang);
    for (const scheme of ['light', 'dark']) {
      await p.emulateMedia({ colorScheme: scheme });
      await screenshot(p, `ui-${name}-${lang === 'en' ? 'en' : 'zh'}-${scheme}`);
    }
  }
  await p.getByTestId('lang').selectOption('en');
  await p.emulateMedia({ colorScheme: 'light' });
}

/**
 * Words the engine's English reasons, notes and run errors are made of. In Chinese none of them
 * may show: reasons travel as typed values and the page words them (crates/ui/src/reasons.rs).
 * Values inside them (model names, a server's own error text) are not words of this list.
 */
const ENGLISH_REASON = /\b(the|channel|channels|would|write|written|models|dry run|skipped|upstream|confirm|changed|filters|snapshot|revert of run|cancelled|scheduled|nothing to change|in progress|limit)\b/i;

/** The texts of `cells` (a locator) in Chinese; fails on any English reason word. */
async function assertNoEnglishReasons(p, cells, what) {
  await p.getByTestId('lang').selectOption('zh-CN');
  const texts = (await cells.allInnerTexts()).map((t) => t.trim()).filter((t) => t !== '');
  await p.getByTestId('lang').selectOption('en');
  for (const t of texts) {
    assert.doesNotMatch(t, ENGLISH_REASON, `${what} shows English in Chinese: ${t}`);
  }
  return texts;
}

async function nav(slug) {
  await page.getByTestId(`nav-${slug}`).click();
}

test('first run: the empty state leads to adding a site, which is saved, tested and listed', async () => {
  await page.goto(ext.url('options.html'));
  await page.getByText('No sites yet.').first().waitFor();
  await shots(page, 'sites-empty');
  await page.getByTestId('add-site').click();
  const form = page.getByTestId('site-form');
  await form.getByLabel('Name').fill('Demo gateway');
  await form.getByLabel('Type').selectOption('new-api');
  // A public plain-http address gets a warning and is not saved without explicit consent.
  await form.getByLabel('Base URL').fill('http://gateway.example.com');
  await page.getByTestId('http-warning').waitFor();
  await form.getByLabel('Access token').fill(TOKEN);
  await form.getByLabel('User id').fill('1');
  const consent = page.getByTestId('allow-insecure');
  assert.equal(await consent.isChecked(), false, 'consent is never pre-ticked');
  await page.getByTestId('save-site').click();
  await page.getByText('tick the box to accept unencrypted credentials').waitFor();
  const listed = await command(page, 'list_sites');
  assert.equal(listed.sites.length, 0, 'nothing saved without consent');
  await form.getByLabel('Base URL').fill(gw.url);
  assert.equal(await page.getByTestId('http-warning').count(), 0, 'no warning for loopback');
  await form.getByLabel('Access token').fill(TOKEN);
  await form.getByLabel('User id').fill('1');
  await shots(page, 'sites-form');
  await page.getByTestId('save-site').click();
  await page.getByText('Site saved.').waitFor();
  const row = page.getByTestId('site-row');
  await row.getByText('Demo gateway').waitFor();
  assert.equal(await row.count(), 1);
  assert.ok(!(await page.content()).includes(TOKEN), 'the token never comes back to the page');

  await row.getByRole('button', { name: 'Test connection' }).click();
  const result = page.getByTestId('test-result');
  await result.waitFor(LONG);
  const text = await result.innerText();
  assert.match(text, /Reachable/);
  assert.match(text, /Signed in/);
  assert.match(text, /Channels:\s*12/);
  assert.match(await result.getAttribute('class'), /ok/);
  await shots(page, 'sites');
});

test('settings: range and regex problems are shown next to the fields; valid settings save', async () => {
  await nav('settings');
  const rpm = page.locator('[data-field="rate.rpm"]');
  await rpm.waitFor();
  // The form is drawn before the site's settings arrive from the worker: wait for them.
  await waitFor('the loaded settings', async () => ((await rpm.inputValue()) !== '0' ? true : null));
  assert.equal(await rpm.inputValue(), '20', 'the default is shown');
  // The site bucket's default is the site type's own (New API: 90 % of its 180 requests / 180 s
  // admin API limit), shown as the value of a new site and in the hint; Reset restores it.
  const siteRpm = page.locator('[data-field="rate.site_rpm"]');
  const siteRpmHint = page.locator('label.field', { has: siteRpm }).locator('.hint');
  assert.equal(await siteRpm.inputValue(), '50', 'New API site bucket default');
  assert.match(await siteRpmHint.innerText(), /^default 50 ·/);
  await siteRpm.fill('70');
  await page.getByRole('button', { name: 'Reset to defaults' }).click();
  assert.equal(await siteRpm.inputValue(), '50', 'reset to the site type default');
  await rpm.fill('0');
  await rpm.press('Tab');
  await page.getByTestId('add-rule').first().click();
  const rules = page.getByTestId('rules-rules');
  await rules.getByLabel('Match type').selectOption('regex');
  await rules.getByTestId('rule-pattern').fill('gpt-(4');
  await rules.getByTestId('rule-pattern').press('Tab');
  await page.getByTestId('save-settings').click();
  await page.getByText(/Not saved: 2 problem/).waitFor();
  const errors = await page.getByTestId('field-error').allInnerTexts();
  assert.ok(errors.some((e) => /must be between 1 and 600 \(got 0\)/.test(e)), errors.join('|'));
  assert.ok(errors.some((e) => /invalid regular expression "gpt-\(4"/.test(e)), errors.join('|'));
  // The worker's findings travel as data: switching the language rewords them in place.
  await page.getByTestId('lang').selectOption('zh-CN');
  const zhErrors = await page.getByTestId('field-error').allInnerTexts();
  assert.ok(zhErrors.some((e) => /必须在 1 到 600 之间（当前为 0）/.test(e)), zhErrors.join('|'));
  assert.ok(zhErrors.some((e) => /无效的正则表达式 "gpt-\(4"/.test(e)), zhErrors.join('|'));
  // So does the notice above them (it keeps what it says, not the words).
  await page.getByText('未保存：2 个问题，已在对应字段旁标出。').waitFor();
  await page.getByTestId('lang').selectOption('en');
  await shots(page, 'settings-invalid');

  // Fix both: fast limits so the runs below take seconds; drop the bad rule.
  await rpm.fill('600');
  await rpm.press('Tab');
  const burst = page.locator('[data-field="rate.burst"]');
  await burst.fill('50');
  await burst.press('Tab');
  await rules.getByRole('button', { name: 'Remove' }).click();
  // A per-channel pinned model.
  await page.getByTestId('channel-picker').selectOption({ index: 1 });
  await page.getByTestId('pinned').fill('my-custom-model');
  await page.getByTestId('pinned').press('Tab');
  await page.getByTestId('save-settings').click();
  await page.getByText('Settings saved.').waitFor();
  assert.equal(await page.getByTestId('field-error').count(), 0);
  await shots(page, 'settings');
});

test('sync: a dry run shows its plan; filter, search and diff work; apply writes; revert restores', async () => {
  // One channel's upstream fails for good: a real failed row.
  await gw.control('faults', { kind: 'upstream_status', status: 401, op: 'fetch_models', channel: 4 });
  await nav('sync');
  await page.getByTestId('no-runs').waitFor();
  await page.getByTestId('dry-run').click();
  const plan = page.getByTestId('plan-review');
  await plan.waitFor(LONG);
  const rows = page.getByTestId('result-row');
  assert.equal(await rows.count(), 12);
  const stats = await page.getByTestId('stats').innerText();
  assert.match(stats, /Dry run/);
  assert.match(stats, /Total channels\s*12/);

  // Filter chips: "Failed" shows only the failing channel.
  await page.getByTestId('chip-failed').click();
  assert.equal(await rows.count(), 1);
  const failedRow = rows.first();
  assert.equal(await failedRow.getAttribute('data-channel'), '4');
  assert.match(await failedRow.innerText(), /401/);
  await page.getByTestId('chip-all').click();
  // Search by id, then by error text.
  await page.getByTestId('search').fill('4');
  assert.ok((await rows.count()) >= 1);
  for (const r of await rows.all()) {
    assert.match(await r.innerText(), /4/);
  }
  await page.getByTestId('search').fill('no-such-channel-zzz');
  await page.getByText('No channel matches the filter.').waitFor();
  await page.getByTestId('search').fill('');
  assert.equal(await rows.count(), 12);

  // Diff of a channel that would change.
  await page.getByTestId('chip-success').click();
  const changed = await rows.count();
  assert.ok(changed >= 1, 'the seeded gateway has channels whose lists differ');
  await rows.first().getByTestId('view-diff').click();
  const diff = page.getByTestId('diff');
  await diff.waitFor();
  assert.match(await diff.innerText(), /Old models/);
  await shots(page, 'sync-diff');
  await diff.getByRole('button', { name: 'Close' }).click();
  await page.getByTestId('chip-all').click();
  // In Chinese every reason of the plan is Chinese (the failing row's text is the server's).
  const reasonCells = page.getByTestId('result-row').filter({ hasNot: page.locator('.badge.st-failed') }).locator('td.msgcol');
  const zhReasons = await assertNoEnglishReasons(page, reasonCells, 'the sync screen');
  assert.ok(zhReasons.some((t) => t.includes('试运行')), `the dry run's reasons are worded in Chinese: ${zhReasons.join(' | ')}`);
  await shots(page, 'sync-plan');

  // Apply all of the plan: a new run of kind "Apply plan" writes the channels.
  const writesBefore = (await (await fetch(`${gw.url}/__mock/requests`)).json());
  await plan.getByTestId('apply-all').click();
  await page.getByTestId('stats').getByText('Apply plan').waitFor(LONG);
  await page.getByTestId('run-all').and(page.locator(':not([disabled])')).waitFor(LONG);
  const applied = await page.getByTestId('stats').innerText();
  assert.match(applied, /Updated\s*[1-9]/, applied);
  assert.ok(writesBefore, 'request log readable');

  // Revert one channel from the apply run.
  const revertable = page.getByTestId('revert-row');
  await revertable.first().waitFor(LONG);
  // At 1280 px every row's actions (sync, exclude, diff, revert) fit on one line inside the card,
  // and each compact button still has words for screen readers.
  const full = page.getByTestId('result-row').filter({ has: revertable }).first();
  const wrap = await page.locator('.tablewrap').first().boundingBox();
  const buttons = await full.locator('td.actions button').all();
  assert.equal(buttons.length, 4);
  const boxes = await Promise.all(buttons.map((b) => b.boundingBox()));
  for (const b of boxes) {
    assert.ok(b.x + b.width <= wrap.x + wrap.width, `an action button ends at ${b.x + b.width}, the card at ${wrap.x + wrap.width}`);
    assert.equal(Math.round(b.y), Math.round(boxes[0].y), 'the row actions sit on one line');
  }
  assert.deepEqual(await Promise.all(buttons.map((b) => b.getAttribute('aria-label'))),
    ['Sync now', 'Exclude', 'View diff', 'Revert']);
  const channel = await page.getByTestId('result-row').filter({ has: revertable }).first().getAttribute('data-channel');
  const before = await (await fetch(`${gw.url}/__mock/channels/${channel}`)).json();
  await revertable.first().click();
  await page.getByTestId('stats').getByText('Revert').first().waitFor(LONG);
  const after = await (await fetch(`${gw.url}/__mock/channels/${channel}`)).json();
  assert.notDeepEqual(after.models, before.models, 'the revert changed the channel back');
  await shots(page, 'sync');
});

test('history: runs listed, details open, exports download as JSON and CSV', async () => {
  await nav('history');
  const runs = page.getByTestId('run-row');
  await runs.first().waitFor();
  assert.ok((await runs.count()) >= 3, 'dry run, apply and revert are in the history');
  await runs.last().getByTestId('run-details').click();
  await page.getByTestId('run-detail').waitFor();
  assert.match(await page.getByTestId('run-detail').innerText(), /401/);
  // The newest run (the revert) in Chinese: its note and every item reason are Chinese.
  await runs.first().getByTestId('run-details').click();
  const note = page.getByTestId('run-note').first();
  await note.waitFor();
  const zhNotes = await assertNoEnglishReasons(page, page.getByTestId('run-note'), 'the history screen');
  assert.ok(zhNotes.some((t) => t.includes('回滚运行')), `the revert's note is worded in Chinese: ${zhNotes.join(' | ')}`);
  const detailCells = page.getByTestId('run-detail').locator('tbody tr').filter({ hasNot: page.locator('.st-failed') }).locator('td.msgcol');
  await assertNoEnglishReasons(page, detailCells, 'the history screen');
  const [json] = await Promise.all([page.waitForEvent('download'), runs.first().getByTestId('export-json').click()]);
  assert.match(json.suggestedFilename(), /\.json$/);
  const body = JSON.parse(await readFile(await json.path(), 'utf8'));
  assert.ok(body, 'the JSON export parses');
  const [csv] = await Promise.all([page.waitForEvent('download'), runs.first().getByTestId('export-csv').click()]);
  assert.match(csv.suggestedFilename(), /\.csv$/);
  const csvText = await readFile(await csv.path(), 'utf8');
  assert.ok(csvText.split('\n').length > 2, 'CSV has a header and rows');
  await shots(page, 'history');
});

test('import/export: secrets only when ticked; a malformed file is refused with a message', async () => {
  await nav('transfer');
  const [plain] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-settings').click()]);
  const plainText = await readFile(await plain.path(), 'utf8');
  assert.ok(!plainText.includes(TOKEN), 'no token unless asked');
  await page.getByTestId('include-secrets').check();
  const [withSecrets] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-settings').click()]);
  assert.ok((await readFile(await withSecrets.path(), 'utf8')).includes(TOKEN), 'token included when ticked');
  await page.getByTestId('import-file').setInputFiles({
    name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "msync-settings", '),
  });
  const err = page.getByTestId('error');
  await err.waitFor();
  assert.match(await err.innerText(), /Import refused/);
  await shots(page, 'transfer');
  // Re-import the exported file: accepted.
  await page.getByTestId('import-file').setInputFiles({
    name: 'ok.json', mimeType: 'application/json', buffer: Buffer.from(plainText),
  });
  await page.getByText('Settings imported.').waitFor({ timeout: 5000 }).catch(async (e) => { await screenshot(page, 'debug-import'); throw e; });
  // A file that turns auto-sync on with empty upstream lists allowed waits for the user's word.
  const risky = JSON.parse(plainText);
  risky.sites[0].settings.auto_sync.enabled = true;
  risky.sites[0].settings.allow_empty = true;
  await page.getByTestId('import-file').setInputFiles({
    name: 'risky.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(risky)),
  });
  const confirm = page.getByTestId('import-confirm');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /an empty upstream list may empty a channel/);
  let stored = await command(page, 'list_sites');
  await shots(page, 'transfer-confirm');
  await page.getByTestId('import-confirm-yes').click();
  await page.getByText('Settings imported.').waitFor();
  assert.equal(await confirm.count(), 0);
  // Back to the exported settings for the tests below.
  await page.getByTestId('import-file').setInputFiles({
    name: 'ok.json', mimeType: 'application/json', buffer: Buffer.from(plainText),
  });
  await page.getByText('Settings imported.').waitFor();
  stored = await command(page, 'list_sites');
  assert.equal(stored.sites.length, 1);
});

test('redirect: preview with reasons per standard model, apply, bulk clear needs a second click', async () => {
  await nav('redirect');
  await page.getByTestId('presets').locator('input').first().waitFor();
  await page.getByTestId('standard-models').fill('gpt-4o\ndeepseek-chat');
  await page.getByTestId('standard-models').press('Tab');
  await page.getByTestId('preview-redirect').click();
  const table = page.getByTestId('redirect-table');
  await table.waitFor(LONG);
  const rows = page.getByTestId('redirect-row');
  assert.ok((await rows.count()) >= 1);
  const reasons = await table.locator('details').first().evaluate((d) => { d.open = true; return d.innerText; });
  assert.match(reasons, /gpt-4o: /, 'each standard model has its reason');
  assert.match(reasons, /mapped to|no candidate|only other versions|already in the channel/);
  // The reasons follow the page's language.
  await page.getByTestId('lang').selectOption('zh-CN');
  await table.locator('details').first().getByText(/映射到|没有候选|只有其他版本|无需映射/).first().waitFor();
  await page.getByTestId('lang').selectOption('en');
  await shots(page, 'redirect-preview');
  const apply = page.getByTestId('apply-redirect');
  if (!(await apply.isDisabled())) {
    await apply.click();
    await page.getByText(/Apply started/).waitFor(LONG);
  }
  // Bulk clear: choose one channel, preview, then the apply needs a second click.
  await page.getByTestId('bulk-clear').click();
  const dialog = page.getByTestId('clear-dialog');
  await dialog.waitFor();
  await dialog.getByRole('radio', { name: /Every entry/ }).check();
  await dialog.locator('.clearlist input').first().check();
  await shots(page, 'redirect-clear-dialog');
  await page.getByTestId('preview-clear').click();
  await page.getByTestId('redirect-preview').getByText(/bulk clear/i).waitFor({ timeout: 8000 }).catch(async (e) => { await screenshot(page, 'debug-clear'); throw e; });
  const clearBtn = page.getByTestId('apply-redirect');
  if (!(await clearBtn.isDisabled())) {
    await clearBtn.click();
    await page.getByText(/Click again to clear/).waitFor();
    await shots(page, 'redirect-clear-confirm');
  }
});

test('popup: last run per site, next run, quick actions', async () => {
  const popup = await ext.ctx.newPage();
  await popup.setViewportSize({ width: 400, height: 520 });
  await popup.goto(ext.url('popup.html'));
  const card = popup.getByTestId('site-card');
  await card.waitFor();
  const text = await card.innerText();
  assert.match(text, /Demo gateway/);
  assert.match(text, /Last run/);
  assert.match(text, /Next run/);
  await popup.getByRole('button', { name: 'Open dashboard' }).waitFor();
  await shots(popup, 'popup');
  // Run all from the popup: live progress shows, then the new run is summarised.
  await card.getByRole('button', { name: 'Run all' }).click();
  await popup.getByText('Run started.').waitFor(LONG);
  await popup.close();
});

test('a Chinese browser in dark mode gets the Chinese UI from the start', async () => {
  const zh = await launch({ colorScheme: 'dark', locale: 'zh-CN' });
  try {
    const p = await zh.ctx.newPage();
    await p.goto(zh.url('options.html'));
    await p.getByText('还没有站点。').first().waitFor();
    assert.equal(await p.getAttribute('html', 'lang'), 'zh-CN');
    await screenshot(p, 'ui-options-first-run-zh-dark');
    const popup = await zh.ctx.newPage();
    await popup.setViewportSize({ width: 400, height: 300 });
    await popup.goto(zh.url('popup.html'));
    await popup.getByRole('button', { name: '添加站点' }).waitFor();
    await screenshot(popup, 'ui-popup-first-run-zh-dark');
  } finally {
    await zh.close();
  }
});
