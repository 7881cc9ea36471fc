// The built extension loads and runs in a real Chromium: service worker, storage, alarms,
// message protocol, pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, commandRaw, screenshot } from './harness.mjs';

let ext;
let gw;
before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '12']);
  ext = await launch();
});
after(async () => {
  await ext?.close();
  gw?.stop();
});

test('service worker is the Rust module worker and records its start in chrome.storage', async () => {
  assert.match(ext.sw.url(), /background\.js$/);
  const stored = await ext.sw.evaluate(() => chrome.storage.local.get('meta'));
  const meta = JSON.parse(stored.meta);
  assert.equal(meta.schema, 4);
  assert.equal(meta.version, '0.1.0');
  assert.ok(meta.starts >= 1);
  assert.ok(meta.installed_at > 1.7e12, 'installed_at is a real epoch time');
});

test('the housekeeping alarm exists and is periodic', async () => {
  const alarm = await ext.sw.evaluate(() => chrome.alarms.get('msync:housekeeping'));
  assert.ok(alarm, 'alarm exists');
  assert.equal(alarm.periodInMinutes, 60);
});

test('the options page renders the empty first-run state', async () => {
  const page = await ext.ctx.newPage();
  await page.goto(ext.url('options.html'));
  await page.getByText('No sites yet.').waitFor();
  await page.getByText('v0.1.0').waitFor();
  await screenshot(page, 'options-empty');
  await page.close();
});

test('the popup renders and offers the dashboard', async () => {
  const page = await ext.ctx.newPage();
  await page.setViewportSize({ width: 360, height: 300 });
  await page.goto(ext.url('popup.html'));
  await page.getByRole('button', { name: 'Open dashboard' }).waitFor();
  await screenshot(page, 'popup-empty');
  await page.close();
});

test('malformed and unknown messages get a validation error, not a crash', async () => {
  const page = await ext.ctx.newPage();
  await page.goto(ext.url('popup.html'));
  const unknown = await command(page, 'format_disk');
  assert.equal(unknown.reply, 'error');
  assert.equal(unknown.class, 'validation');
  // the internally tagged form of before (a page left open across an update) is refused too
  const old = await command(page, { cmd: 'ping' });
  assert.equal(old.reply, 'error');
  assert.equal(old.class, 'validation');
  // replies as they travel (serde's default enum form, crates/types/src/protocol.rs)
  assert.deepEqual(await commandRaw(page, 'ping'), { pong: { version: '0.1.0', schema: 4 } });
  assert.deepEqual(await commandRaw(page, { cmd: 'ping' }), {
    error: { class: 'validation', message: old.message },
  });
  await page.close();
});

test('the worker lists channels from the gateway over loopback', async () => {
  const site = {
    id: 'demo', name: 'Demo', kind: 'new-api', base_url: gw.url,
    credentials: { token: 'mock-admin-token', user_id: 1 },
  };
  await ext.sw.evaluate((s) => chrome.storage.local.set({ sites: JSON.stringify([s]) }), site);
  const page = await ext.ctx.newPage();
  await page.goto(ext.url('options.html'));
  const reply = await command(page, { list_channels: { site: 'demo' } });
  assert.equal(reply.reply, 'channels', JSON.stringify(reply).slice(0, 300));
  assert.equal(reply.channels.length, 12);
  for (const ch of reply.channels) {
    assert.ok(ch.id && ch.name, 'every channel has an id and a name');
    assert.ok(Array.isArray(ch.models));
  }
  const sites = await command(page, 'list_sites');
  assert.equal(sites.sites[0].has_credentials, true);
  assert.equal(JSON.stringify(sites).includes('mock-admin-token'), false, 'no secret in replies');
  await page.reload();
  await page.getByText('Demo').first().waitFor();
  await screenshot(page, 'options-one-site');
  await page.close();
});
