// The Firefox package (dist/extension-firefox/, as shipped) in Debian's Firefox ESR, headless,
// end to end: the background page runs the Rust worker, browser.storage.local and alarms work,
// the options page and popup render (screenshots firefox-*.png in target/e2e-artifacts/, en and
// zh, to set beside Chromium's ui-*.png), and a site added through the options page against
// mockgw on 127.0.0.1 syncs to the end with the gateway's state checked. Firefox must never
// leave loopback. See tests/e2e/firefox_harness.mjs for how Firefox is driven.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, ARTIFACTS, waitFor, flat } from './harness.mjs';
import { launchFirefox, screenshotFirefox } from './firefox_harness.mjs';

const TOKEN = 'sk-e2e-firefox-secret-51c0de';
const FAST = {
  rate: { rpm: 600, burst: 50, scope: 'per-host', site_rpm: 6000, site_burst: 100 },
  concurrency: 2,
};

let ff;
let gw;
let page; // options.html, open for the whole file

/** A protocol command sent from an extension page, as the UI sends it; the reply read `flat`. */
async function cmd(p, c) {
  return flat(await cmdRaw(p, c));
}

function cmdRaw(p, c) {
  return p.evaluate((c) => browser.runtime.sendMessage(c), c);
}

function shot(p, name) {
  return screenshotFirefox(p, ARTIFACTS, `firefox-${name}`);
}

function text(p) {
  return p.evaluate(() => document.body.innerText);
}

async function waitForText(p, re, timeout = 30000) {
  await waitFor(`${re} on the page`, async () => re.test(await text(p)), { timeout });
}

function modelsOf(channel) {
  const m = channel.models;
  const list = Array.isArray(m) ? m : String(m ?? '').split(',');
  return list.map((s) => s.trim()).filter(Boolean).sort();
}

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '12', '--token', TOKEN, '--seed', '5']);
  ff = await launchFirefox({ locale: 'en-US' });
  page = await ff.open('options.html');
});

after(async () => {
  await ff?.close();
  gw?.stop();
});

test('Firefox ESR runs the package as an event page whose Rust code starts and answers', async (t) => {
  t.diagnostic(`browser: ${await ff.version()}`);
  const manifest = await page.evaluate(() => browser.runtime.getManifest());
  // Firefox hands back the scripts as resolved moz-extension:// URLs.
  assert.deepEqual(manifest.background.scripts.map((u) => new URL(u, 'moz-extension://x/').pathname),
    ['/background.js']);
  assert.ok(!manifest.background.service_worker, 'no service worker in the Firefox manifest');
  assert.equal(manifest.browser_specific_settings.gecko.id, 'msync@msync.dev');
  // on_startup's result, as the background page holds it.
  const meta = await page.evaluate(async () => {
    const bg = await browser.runtime.getBackgroundPage();
    return bg.msyncStarted;
  });
  assert.equal(meta.schema, 4);
  assert.equal(meta.version, '0.1.0');
  assert.ok(meta.starts >= 1);
  assert.ok(meta.installed_at > 1.7e12, 'installed_at is a real epoch time');
  // …and what it recorded in browser.storage.local.
  const stored = await page.evaluate(() => browser.storage.local.get('meta'));
  assert.deepEqual(JSON.parse(stored.meta).installed_at, meta.installed_at);

  assert.deepEqual(await cmdRaw(page, 'ping'), { pong: { version: '0.1.0', schema: 4 } });
  const unknown = await cmd(page, 'format_disk');
  assert.equal(unknown.reply, 'error');
  assert.equal(unknown.class, 'validation');
});

test('the housekeeping alarm exists and is periodic', async () => {
  const alarm = await page.evaluate(() => browser.alarms.get('msync:housekeeping'));
  assert.ok(alarm, 'alarm exists');
  assert.equal(alarm.periodInMinutes, 60);
});

test('options page and popup render the first-run state (en)', async () => {
  await waitForText(page, /No sites yet\./);
  await waitForText(page, /v0\.1\.0/);
  await shot(page, 'options-empty-en');
  const popup = await ff.open('popup.html', { width: 400, height: 300 });
  await waitForText(popup, /Add a site/);
  await shot(popup, 'popup-empty-en');
  await popup.close();
});

test('a site added through the options page gets its host permission and connects', async () => {
  await page.click('[data-testid="add-site"]');
  const form = '[data-testid="site-form"]';
  await page.waitForSelector(form);
  await page.type(`${form} input[type="text"]`, 'Demo gateway');
  await page.select(`${form} select`, 'new-api');
  await page.type(`${form} input[type="url"]`, gw.url);
  await page.type(`${form} input[type="password"]`, TOKEN);
  await page.type(`${form} input[inputmode="numeric"]`, '1');
  // What the page requests and the worker checks: the host, every port.
  const origin = 'http://127.0.0.1/*';
  assert.equal(await page.evaluate((o) => browser.permissions.contains({ origins: [o] }), origin), false,
    'no host permission before the site is saved');
  // A real click: permissions.request needs the user gesture (Firefox checks it).
  await page.click('[data-testid="save-site"]');
  await waitForText(page, /Site saved\./);
  assert.doesNotMatch(await text(page), /permission/i, 'no "permission denied" note');
  assert.equal(await page.evaluate((o) => browser.permissions.contains({ origins: [o] }), origin), true,
    'the origin was granted through permissions.request');
  assert.ok(!(await page.content()).includes(TOKEN), 'the token never comes back to the page');

  await page.waitForSelector('[data-testid="site-row"]');
  await page.click('[data-testid="site-row"] ::-p-text(Test connection)');
  const result = await page.waitForSelector('[data-testid="test-result"]', { timeout: 60000 });
  const resultText = await result.evaluate((e) => e.innerText);
  assert.match(resultText, /Reachable/);
  assert.match(resultText, /Signed in/);
  assert.match(resultText, /Channels:\s*12/);
  await shot(page, 'options-site-en');

  const status = await cmd(page, 'get_status');
  assert.equal(status.sites.length, 1);
  assert.equal(status.sites[0].host_permission, true);
});

test('settings written through browser.storage.local read back, both ways', async () => {
  const { sites } = await cmd(page, 'list_sites');
  const site = sites[0].id;
  const got = await cmd(page, { get_settings: { site } });
  assert.equal(got.reply, 'settings', JSON.stringify(got));
  const saved = await cmd(page, { save_settings: { site, settings: { ...got.settings, ...FAST } } });
  assert.equal(saved.reply, 'settings', JSON.stringify(saved));
  // Rust wrote JSON text under settings/<site> in browser.storage.local…
  const key = `settings/${site}`;
  const raw = await page.evaluate((k) => browser.storage.local.get(k), key);
  const stored = JSON.parse(raw[key]);
  assert.equal(stored.rate.rpm, 600);
  assert.equal(stored.concurrency, 2);
  // …and reads back what a page writes there directly.
  stored.removal_threshold_pct = 77;
  await page.evaluate((k, v) => browser.storage.local.set({ [k]: v }), key, JSON.stringify(stored));
  const again = await cmd(page, { get_settings: { site } });
  assert.equal(again.settings.removal_threshold_pct, 77);
  assert.equal(again.settings.rate.rpm, 600);
  // Nothing secret in plain view outside the sites record.
  const all = await page.evaluate(() => browser.storage.local.get(null));
  for (const [k, v] of Object.entries(all)) {
    if (k !== 'sites') assert.ok(!String(v).includes(TOKEN), `token found under ${k}`);
  }
});

test('a sync started from the options page runs to the end and the gateway holds its result', async () => {
  const { sites } = await cmd(page, 'list_sites');
  const site = sites[0].id;
  await gw.control('reset', {});
  // One channel's upstream key is rejected: the run goes on and reports it.
  await gw.control('faults', { kind: 'upstream_status', status: 401, op: 'fetch_models', channel: 3 });
  await page.click('[data-testid="nav-sync"]');
  await page.waitForSelector('[data-testid="run-all"]:not([disabled])');
  await page.click('[data-testid="run-all"]');
  const head = await waitFor('the run to finish', async () => {
    const r = await cmd(page, { list_runs: { site } });
    return r.runs?.[0] && r.runs[0].state !== 'running' ? r.runs[0] : null;
  }, { timeout: 60000 });
  assert.equal(head.state, 'finished', JSON.stringify(head));
  assert.equal(head.trigger, 'manual');
  const run = await cmd(page, { get_run: { site, run: head.id } });
  assert.equal(run.items.length, 12);
  assert.deepEqual(run.items.filter((i) => i.status === 'failed').map((i) => i.channel_id), ['3']);

  const st = await (await fetch(`${gw.url}/__mock/state`)).json();
  const byId = Object.fromEntries(st.channels.map((c) => [String(c.id), c]));
  let written = 0;
  for (const item of run.items) {
    const writes = st.writes[item.channel_id] ?? 0;
    if (item.status === 'success') {
      written += 1;
      assert.equal(writes, 1, `channel ${item.channel_id} was written once`);
      assert.deepEqual(modelsOf(byId[item.channel_id]), [...item.new].sort(), `models of ${item.channel_id}`);
    } else {
      assert.equal(writes, 0, `channel ${item.channel_id} (${item.status}) was not written`);
    }
  }
  assert.ok(written >= 5, `most channels changed (${written})`);
  const log = (await (await fetch(`${gw.url}/__mock/requests`)).json()).requests;
  assert.equal(log.filter((r) => r.op === 'update_channel').length, written);
  await gw.control('faults/clear', {});

  // The page shows the finished run (from the worker's events) and the badge counts the failure.
  await waitFor('the run in the stats', async () => {
    const stats = await page.$eval('[data-testid="stats"]', (e) => e.innerText);
    return /Failed\s*1/.test(stats) && /Total channels\s*12/.test(stats);
  });
  await shot(page, 'sync-en');
  const badge = await page.evaluate(() => browser.action.getBadgeText({}));
  assert.equal(badge, '1');

  const popup = await ff.open('popup.html', { width: 400, height: 520 });
  await waitForText(popup, /Demo gateway/);
  await waitForText(popup, /Last run/);
  await shot(popup, 'popup-en');
  await popup.close();
});

test('a Chinese Firefox gets the Chinese options page and popup', async () => {
  const zh = await launchFirefox({ locale: 'zh-CN' });
  try {
    const p = await zh.open('options.html');
    await waitForText(p, /还没有站点。/);
    assert.equal(await p.evaluate(() => document.documentElement.lang), 'zh-CN');
    await shot(p, 'options-empty-zh');
    const popup = await zh.open('popup.html', { width: 400, height: 300 });
    await waitForText(popup, /添加站点/);
    await shot(popup, 'popup-empty-zh');
    assert.deepEqual(zh.outside(), [], 'Firefox (zh) reached beyond 127.0.0.1');
  } finally {
    await zh.close();
  }
});

test('Firefox talked to 127.0.0.1 only', () => {
  assert.deepEqual(ff.outside(), [], 'requests that went past loopback (to the sink proxy)');
});
