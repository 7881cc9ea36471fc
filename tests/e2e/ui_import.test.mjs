// Import from All API Hub in the options page (docs/import-all-api-hub.md), through real clicks in
// headless Chromium: the hand-built export of tests/fixtures/all-api-hub/ with its New API site
// pointed at mockgw on 127.0.0.1 → preview per site and setting with warnings (screenshots en +
// zh in target/e2e-artifacts/ui-import-*.png) → consent to update the existing site → confirm →
// a sync runs with the imported settings and the gateway's channels show their effect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, startGateway, command, screenshot } from './harness.mjs';

// The fixture's New API admin token; mockgw is started with it.
const TOKEN = 'fixture-newapi-admin-token-0001';
const FIXTURE = new URL('../fixtures/all-api-hub/v4-full.json', import.meta.url);

let ext;
let gw;
let page;

async function waitFor(what, fn, { timeout = 30000, every = 150 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function state() {
  return (await fetch(`${gw.url}/__mock/state`)).json();
}

function modelsOf(channel) {
  const m = channel.models;
  const list = Array.isArray(m) ? m : String(m ?? '').split(',');
  return list.map((s) => s.trim()).filter(Boolean);
}

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '4', '--token', TOKEN, '--seed', '5']);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
  await page.goto(ext.url('options.html'));
  // An msync site already at the gateway's address: the import must ask before changing it.
  const saved = await command(page, { save_site: {
    site: { name: 'Prod gateway', kind: 'new-api', base_url: gw.url, credentials: { token: 'an-older-token', user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
});

after(async () => {
  await ext?.close();
  gw?.stop();
});

test('an All API Hub export is previewed, confirmed with consent, and its settings drive a sync', async () => {
  const exported = (await readFile(FIXTURE, 'utf8')).replaceAll('https://newapi.example.com', gw.url);
  await page.reload();
  await page.getByTestId('nav-transfer').click();
  await page.getByTestId('aah-card').waitFor();

  // A file that is not an export is refused with a clear message; nothing else happens.
  await page.getByTestId('aah-file').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await page.getByText(/This is not an All API Hub export/).waitFor();
  await page.getByTestId('aah-file').setInputFiles({
    name: 'all-api-hub-backup-cut.json', mimeType: 'application/json', buffer: Buffer.from(exported.slice(0, 900)),
  });
  await page.getByText(/ends in the middle of its JSON/).waitFor();
  assert.equal(await page.getByTestId('aah-preview').count(), 0);

  await page.getByTestId('aah-file').setInputFiles({
    name: 'all-api-hub-backup-2026-12-04.json', mimeType: 'application/json', buffer: Buffer.from(exported),
  });
  const preview = page.getByTestId('aah-preview');
  await preview.waitFor();
  const cards = page.getByTestId('aah-site');
  assert.equal(await cards.count(), 3, 'New API, Octopus, AxonHub');
  const newapi = cards.nth(0);
  assert.match(await newapi.getByTestId('aah-action').innerText(), /Updates msync site “Prod gateway”/);
  const table = await newapi.locator('table.aah-changes').innerText();
  assert.match(table, /Concurrency\s+2\s+3/, table);
  assert.match(table, /Requests per minute\s+20\s+60/, table);
  assert.match(table, /Filter rules of channel 1\s+\(none\)\s+exclude substring “MINI”/, table);
  const warnings = await newapi.getByTestId('aah-warnings').innerText();
  assert.match(warnings, /Auto-sync will be ON \(every 6 h\)/);
  assert.match(warnings, /look-around/);
  assert.match(await cards.nth(1).getByTestId('aah-action').innerText(), /New site/);
  const global = await page.getByTestId('aah-global-warnings').innerText();
  assert.match(global, /Probe rule “Only models that answer” \(global\) is not imported/);
  assert.match(global, /Claude Code Hub site https:\/\/cch\.example\.com is not imported/);
  assert.match(await page.getByTestId('aah-ignored').innerText(), /accounts \(2\).*preferences\.webdav/);
  const html = await page.content();
  for (const secret of [TOKEN, 'fixture-octopus-password', 'fixture-axonhub-password', 'fixture-webdav-password']) {
    assert.ok(!html.includes(secret), `${secret} reached the page`);
  }

  for (const lang of ['en', 'zh-CN']) {
    await page.getByTestId('lang').selectOption(lang);
    await screenshot(page, `ui-import-preview-${lang === 'en' ? 'en' : 'zh'}`);
  }
  assert.match(await newapi.getByTestId('aah-action').innerText(), /更新 msync 站点“Prod gateway”/);
  assert.match(await page.getByTestId('aah-global-warnings').innerText(), /探测规则“Only models that answer”（全局）不会导入/);
  await page.getByTestId('lang').selectOption('en');

  // Consent to update the existing site, then import.
  await newapi.getByTestId('aah-consent').check();
  await page.getByTestId('aah-confirm').click();
  const outcome = page.getByTestId('aah-card').locator('.notice.ok, .notice.err');
  await outcome.first().waitFor({ timeout: 60000 });
  assert.equal(await outcome.first().innerText(), 'Imported: 2 created, 1 updated, 0 skipped.');
  assert.equal(await page.getByTestId('aah-preview').count(), 0);
  await screenshot(page, 'ui-import-done-en');

  const sites = await command(page, 'list_sites');
  const names = sites.sites.map((s) => s.name).sort();
  assert.deepEqual(names, ['Prod gateway', 'axonhub.example.com', 'octopus.example.com']);
  const prod = sites.sites.find((s) => s.name === 'Prod gateway');
  const got = await command(page, { get_settings: { site: prod.id } });
  assert.equal(got.reply, 'settings');
  const s = got.settings;
  assert.deepEqual([s.concurrency, s.rate.rpm, s.rate.burst, s.rate.scope, s.retry.max_retries], [3, 60, 8, 'global', 4]);
  assert.equal(s.auto_sync.enabled, true);
  assert.equal(s.auto_sync.interval_minutes, 360);
  assert.deepEqual(s.channels['1'].rules.map((r) => r.pattern), ['MINI']);

  // A sync of channel 1 with the imported filters: global "embedding" and regex ^(tts|whisper)-
  // excludes, and channel 1's plain "MINI" exclude (case-insensitive, as in All API Hub).
  const before = (await state()).channels.find((c) => String(c.id) === '1');
  const kept = modelsOf(before).filter((m) => !/embedding|mini/i.test(m) && !/^(tts|whisper)-/i.test(m));
  const upstream = [...kept, 'e2e-new-model', 'e2e-Mini-model', 'text-embedding-e2e', 'tts-e2e'];
  await gw.control('upstream/1', { models: upstream });
  const started = await command(page, { start_run: { site: prod.id, selection: { channels: ['1'] } } });
  assert.equal(started.reply, 'run_started', JSON.stringify(started));
  const run = await waitFor('the run to finish', async () => {
    const r = await command(page, { get_run: { site: prod.id, run: started.run } });
    return r.reply === 'run' && r.head.state !== 'running' ? r : null;
  }, { timeout: 60000 });
  assert.equal(run.head.state, 'finished', JSON.stringify(run.head));
  assert.equal(run.items[0].status, 'success', JSON.stringify(run.items[0]));
  const after = (await state()).channels.find((c) => String(c.id) === '1');
  const models = modelsOf(after);
  assert.ok(models.includes('e2e-new-model'), models.join(','));
  for (const gone of ['e2e-Mini-model', 'text-embedding-e2e', 'tts-e2e']) {
    assert.ok(!models.includes(gone), `${gone} should have been filtered: ${models.join(',')}`);
  }
  // (mockgw accepts only the fixture's token: the run succeeding shows the site's old token
  // was replaced by the imported one.)
});
