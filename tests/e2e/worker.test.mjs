// The background service worker end to end: real extension in headless Chromium, driven through
// the message protocol like the pages do, against mockgw on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, waitFor } from './harness.mjs';

const TOKEN = 'sk-e2e-worker-secret-7f3a9c1d5e';
const SITE = 'demo';
// Fast limits so runs take seconds, not minutes; no channel time limit surprises.
const FAST = {
  rate: { rpm: 600, burst: 50, scope: 'per-host', site_rpm: 6000, site_burst: 100 },
  concurrency: 2,
};

let ext;
let gw;
let page;

/** The live service worker (a stopped one is replaced by a new instance). */
async function worker() {
  return waitFor('a service worker', async () => {
    const sws = ext.ctx.serviceWorkers();
    const sw = sws[sws.length - 1];
    if (!sw) return null;
    await sw.evaluate(() => self.msyncStarted);
    return sw;
  });
}

async function cmd(c) {
  return command(page, c);
}

async function settings(extra = {}) {
  const got = await cmd({ get_settings: { site: SITE } });
  assert.equal(got.reply, 'settings', JSON.stringify(got));
  const s = { ...got.settings, ...FAST, ...extra };
  const saved = await cmd({ save_settings: { site: SITE, settings: s } });
  assert.equal(saved.reply, 'settings', JSON.stringify(saved));
  return saved.settings;
}

async function runs() {
  const r = await cmd({ list_runs: { site: SITE } });
  assert.equal(r.reply, 'runs', JSON.stringify(r));
  return r.runs;
}

async function finished(runId) {
  return waitFor(`run ${runId} to finish`, async () => {
    const r = await cmd({ get_run: { site: SITE, run: runId } });
    return r.reply === 'run' && r.head.state !== 'running' ? r : null;
  }, { timeout: 60000 });
}

async function state() {
  return (await fetch(`${gw.url}/__mock/state`)).json();
}

function modelsOf(channel) {
  const m = channel.models;
  const list = Array.isArray(m) ? m : String(m ?? '').split(',');
  return list.map((s) => s.trim()).filter(Boolean).sort();
}

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '12', '--token', TOKEN, '--seed', '3']);
  ext = await launch();
  page = await ext.ctx.newPage();
  await page.goto(ext.url('popup.html'));
  const saved = await cmd({ save_site: {
    site: { id: SITE, name: 'Demo', kind: 'new-api', base_url: `${gw.url}/`, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  assert.equal(saved.site.base_url, gw.url, 'trailing slash dropped');
  assert.equal(saved.site.insecure, false, 'loopback http is not flagged');
  await settings();
});

after(async () => {
  await ext?.close();
  gw?.stop();
});

test('a full run writes the expected models, reports progress, and sets the badge', async () => {
  await gw.control('reset', {});
  // One channel's upstream key is rejected: the run goes on, the badge shows one failure.
  await gw.control('faults', { kind: 'upstream_status', status: 401, op: 'fetch_models', channel: 3 });
  await page.evaluate(() => {
    self.__events = [];
    // a broadcast travels as {event: {progress: {...}}} (crates/types/src/protocol.rs EventMessage);
    // kept flat, {event: 'progress', ...}
    chrome.runtime.onMessage.addListener((m) => {
      if (m && m.event) {
        const [kind, ...more] = Object.keys(m.event);
        self.__events.push(more.length ? { event: 'more than one key', m } : { event: kind, ...m.event[kind] });
      }
    });
  });
  const started = await cmd({ start_run: { site: SITE, selection: 'all' } });
  assert.equal(started.reply, 'run_started', JSON.stringify(started));
  const run = await finished(started.run);
  assert.equal(run.head.state, 'finished');
  assert.equal(run.head.trigger, 'manual');
  assert.equal(run.items.length, 12);
  const failed = run.items.filter((i) => i.status === 'failed');
  assert.deepEqual(failed.map((i) => i.channel_id), ['3']);

  const st = await state();
  const byId = Object.fromEntries(st.channels.map((c) => [String(c.id), c]));
  let written = 0;
  for (const item of run.items) {
    const writes = st.writes[item.channel_id] ?? 0;
    assert.ok(writes <= 1, `channel ${item.channel_id} written ${writes} times`);
    if (item.status === 'success') {
      written += 1;
      assert.equal(writes, 1, `channel ${item.channel_id} was written`);
      assert.deepEqual(modelsOf(byId[item.channel_id]), [...item.new].sort(), `models of ${item.channel_id}`);
    } else {
      assert.equal(writes, 0, `channel ${item.channel_id} (${item.status}) was not written`);
    }
  }
  assert.ok(written >= 5, `most channels changed (${written})`);
  // Every write went through the admin API with our credentials; the log shows the PUTs.
  const log = (await (await fetch(`${gw.url}/__mock/requests`)).json()).requests;
  assert.equal(log.filter((r) => r.op === 'update_channel').length, written);

  const events = await waitFor('run_finished event', () =>
    page.evaluate(() => (self.__events.some((e) => e.event === 'run_finished') ? self.__events : null)));
  assert.ok(events.some((e) => e.event === 'progress' && e.progress.total === 12));
  assert.equal(events.filter((e) => e.event === 'item').length, 12);
  const sw = await worker();
  assert.equal(await sw.evaluate(() => chrome.action.getBadgeText({})), '1');

  const status = await cmd('get_status');
  assert.equal(status.sites[0].host_permission, true);
  assert.equal(status.sites[0].last_run.id, started.run);
  await gw.control('faults/clear', {});
});

test('an alarm triggers a scheduled run', async () => {
  await gw.control('reset', {});
  await settings({ auto_sync: { enabled: true, interval_minutes: 60, notify: true } });
  const sw = await worker();
  const alarm = await sw.evaluate(() => chrome.alarms.get('msync:sync:demo'));
  assert.equal(alarm.periodInMinutes, 60);
  const before = (await runs()).length;
  // Fire it now (same name and period, as Chrome would after an hour).
  await sw.evaluate(() => chrome.alarms.create('msync:sync:demo', { when: Date.now() + 100, periodInMinutes: 60 }));
  const scheduled = await waitFor('a scheduled run', async () => {
    const all = await runs();
    return all.length > before && all[0].trigger === 'scheduled' && all[0].state !== 'running' ? all[0] : null;
  });
  assert.equal(scheduled.state, 'finished');
  assert.equal(scheduled.totals.failed, 0);
  // The badge is refreshed after the run's record is stored: wait for it, do not race it.
  await waitFor('the badge cleared', async () =>
    (await sw.evaluate(() => chrome.action.getBadgeText({}))) === '' ? true : null);
  // Re-arming on start keeps the alarm's period (no drift, no duplicate).
  const alarms = await sw.evaluate(() => chrome.alarms.getAll());
  assert.equal(alarms.filter((a) => a.name === 'msync:sync:demo').length, 1);
  await settings({ auto_sync: { enabled: false, interval_minutes: 60, notify: true } });
  assert.equal(await sw.evaluate(() => chrome.alarms.get('msync:sync:demo')), undefined);
});

test('a manual run and an alarm never overlap: the scheduled run is skipped and recorded', async () => {
  await gw.control('reset', {});
  await settings({ auto_sync: { enabled: true, interval_minutes: 60, notify: false } });
  await gw.control('faults', { kind: 'delay', ms: 700, op: 'fetch_models' });
  const started = await cmd({ start_run: { site: SITE, selection: 'all' } });
  assert.equal(started.reply, 'run_started', JSON.stringify(started));
  const again = await cmd({ start_run: { site: SITE, selection: 'all' } });
  assert.equal(again.reply, 'error');
  assert.match(again.message, /in progress/);
  const sw = await worker();
  await sw.evaluate(() => chrome.alarms.create('msync:sync:demo', { when: Date.now() + 50, periodInMinutes: 60 }));
  const skipped = await waitFor('the skipped scheduled run', async () =>
    (await runs()).find((h) => h.state === 'skipped' && h.trigger === 'scheduled'));
  assert.ok(skipped.note.scheduled_skipped, JSON.stringify(skipped.note));
  const run = await finished(started.run);
  assert.equal(run.head.state, 'finished');
  const st = await state();
  for (const [id, n] of Object.entries(st.writes)) assert.ok(n <= 1, `channel ${id} written ${n} times`);
  await gw.control('faults/clear', {});
  await settings({ auto_sync: { enabled: false, interval_minutes: 60, notify: false } });
});

test('a run survives the service worker being stopped and resumes without double writes', async () => {
  await gw.control('reset', {});
  await settings({ concurrency: 1 });
  await gw.control('faults', { kind: 'delay', ms: 500, op: 'fetch_models' });
  const started = await cmd({ start_run: { site: SITE, selection: 'all' } });
  assert.equal(started.reply, 'run_started', JSON.stringify(started));
  await waitFor('a few channels done', async () => {
    const r = await cmd({ get_run: { site: SITE, run: started.run } });
    const done = r.items.filter((i) => i.status !== 'queued' && i.status !== 'running').length;
    return done >= 3 && done <= 8;
  }, { every: 50 });
  const sw = await worker();
  const startsBefore = JSON.parse((await sw.evaluate(() => chrome.storage.local.get('meta'))).meta).starts;
  const resumeAlarm = await sw.evaluate(() => chrome.alarms.get('msync:resume'));
  assert.ok(resumeAlarm, 'a short resume alarm exists while the run is in progress');
  assert.equal(resumeAlarm.periodInMinutes, 1);

  // Stop the worker the way Chrome does when it retires an idle or long-running one.
  const cdp = await ext.ctx.newCDPSession(page);
  const versions = new Set();
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions: vs }) => {
    for (const v of vs) if (v.runningStatus === 'running' && v.scriptURL.endsWith('/background.js')) versions.add(v.versionId);
  });
  await cdp.send('ServiceWorker.enable');
  await new Promise((r) => setTimeout(r, 200));
  await cdp.send('ServiceWorker.stopAllWorkers');
  for (const versionId of versions) await cdp.send('ServiceWorker.stopWorker', { versionId }).catch(() => {});
  await waitFor('the worker to stop', async () => !ext.ctx.serviceWorkers().includes(sw), { timeout: 5000 })
    .catch(() => {}); // the start counter below is the real check
  const mid = await cmd('ping').catch(() => null); // wakes the worker up
  assert.equal(mid?.reply, 'pong');
  const sw2 = await worker();
  const startsAfter = JSON.parse((await sw2.evaluate(() => chrome.storage.local.get('meta'))).meta).starts;
  assert.ok(startsAfter > startsBefore, 'a new worker instance started');

  const run = await finished(started.run);
  assert.equal(run.head.state, 'finished');
  assert.equal(run.head.trigger, 'resume');
  assert.equal(run.head.first_trigger, 'manual');
  assert.ok(run.head.resumes >= 1);
  assert.equal(run.items.filter((i) => i.status === 'queued' || i.status === 'running').length, 0);
  const st = await state();
  for (const item of run.items) {
    const n = st.writes[item.channel_id] ?? 0;
    assert.ok(n <= 1, `channel ${item.channel_id} written ${n} times`);
    assert.equal(n, item.status === 'success' ? 1 : 0, `channel ${item.channel_id}: ${item.status}, ${n} writes`);
  }
  await waitFor('the resume alarm to go', async () =>
    (await (await worker()).evaluate(() => chrome.alarms.get('msync:resume'))) === undefined);
  await gw.control('faults/clear', {});
  await cdp.detach();
});

test('a run for a site without host permission fails early and clearly', async () => {
  const port = new URL(gw.url).port;
  const saved = await cmd({ save_site: {
    site: { id: 'nohost', name: 'No permission', kind: 'new-api', base_url: `http://localhost:${port}`, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  const before = (await state()).requests;
  const r = await cmd({ start_run: { site: 'nohost', selection: 'all' } });
  assert.equal(r.reply, 'error');
  assert.equal(r.class, 'permission');
  assert.equal(r.message, `msync has no permission to reach http://localhost:${port}; grant it on the Sites page`);
  const t = await cmd({ test_site: { site: 'nohost' } });
  assert.equal(t.class, 'permission');
  assert.equal((await state()).requests, before, 'no request reached the gateway');
  const status = await cmd('get_status');
  assert.equal(status.sites.find((s) => s.site.id === 'nohost').host_permission, false);
  assert.equal(status.sites.find((s) => s.site.id === SITE).host_permission, true);
  assert.equal((await cmd({ remove_site: { site: 'nohost' } })).reply, 'ok');
});

test('secrets stay in the site record: not in other keys, history, events or exports', async () => {
  const sw = await worker();
  const all = await sw.evaluate(() => chrome.storage.local.get(null));
  assert.ok(all.sites.includes(TOKEN), 'the site record holds the token');
  const keys = Object.keys(all);
  assert.ok(keys.some((k) => k.startsWith('sync/demo/run/')), 'history is stored');
  for (const [k, v] of Object.entries(all)) {
    if (k !== 'sites') assert.ok(!JSON.stringify(v).includes(TOKEN), `secret in storage key ${k}`);
  }
  const listed = await cmd({ list_runs: { site: SITE } });
  assert.ok(!JSON.stringify(listed).includes(TOKEN));
  for (const format of ['json', 'csv']) {
    const e = await cmd({ export_run: { site: SITE, run: listed.runs[0].id, format } });
    assert.equal(e.reply, 'export');
    assert.ok(!e.content.includes(TOKEN), `secret in ${format} export`);
  }
  const plain = await cmd({ export_settings: {} });
  assert.ok(!plain.content.includes(TOKEN), 'secret in settings export');
  const withSecrets = await cmd({ export_settings: { include_secrets: true } });
  assert.ok(withSecrets.content.includes(TOKEN), 'secrets only when asked for');
  const sites = await cmd('list_sites');
  assert.ok(!JSON.stringify(sites).includes(TOKEN));
  const events = await page.evaluate(() => JSON.stringify(self.__events ?? []));
  assert.ok(!events.includes(TOKEN));

  // A refused import changes nothing.
  const newer = JSON.parse(plain.content);
  newer.version = 99;
  const r = await cmd({ import_settings: { content: JSON.stringify(newer) } });
  assert.equal(r.reply, 'error');
  assert.match(r.message, /newer msync/);
  const after = await sw.evaluate(() => chrome.storage.local.get(null));
  assert.equal(after.sites, all.sites);
});
