// Every gateway flavour in the browser: "Test connection" and a full sync through the real
// extension against mockgw — including Octopus v0.10+, whose session is a cookie that only the
// browser's cookie jar can carry (fetch never shows Set-Cookie and drops a Cookie header).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, waitFor, FAST_SETTINGS } from './harness.mjs';

const TOKEN = 'sk-e2e-flavours-secret-4b1d9e';
const FAST = FAST_SETTINGS;
const CHANNELS = 6;

const FLAVOURS = [
  { id: 'newapi', kind: 'new-api', args: [], creds: { token: TOKEN, user_id: 1 } },
  { id: 'newapi-2025', kind: 'new-api', args: ['--legacy'], creds: { token: TOKEN, user_id: 1 } },
  { id: 'veloera', kind: 'veloera', args: [], creds: { token: TOKEN, user_id: 1 } },
  { id: 'donehub', kind: 'done-hub', args: [], creds: { token: TOKEN } },
  {
    id: 'octopus', kind: 'octopus', args: [], creds: { username: 'admin', password: 'admin-e2e-pw' },
    hint: /cookie session kept by the browser/,
  },
  {
    id: 'octopus-09', kind: 'octopus', args: ['--legacy'], creds: { username: 'admin', password: 'admin-e2e-pw' },
    hint: /Bearer/,
  },
  { id: 'axonhub', kind: 'axonhub', args: [], creds: { username: 'owner@example.com', password: 'axon-e2e-pw' } },
];

let ext;
let page;

before(async () => {
  ext = await launch();
  page = await ext.ctx.newPage();
  await page.goto(ext.url('popup.html'));
});

after(async () => {
  await ext?.close();
});

for (const f of FLAVOURS) {
  test(`${f.id}: test connection and a full sync in the browser`, async () => {
    const flavor = ['--flavor', f.kind, '--channels', String(CHANNELS)];
    const secretArgs = f.creds.password ? ['--password', f.creds.password] : ['--token', TOKEN];
    const gw = await startGateway([...flavor, ...secretArgs, ...f.args]);
    try {
      const saved = await command(page, { save_site: {
        site: { id: f.id, name: f.id, kind: f.kind, base_url: gw.url, credentials: f.creds },
      } });
      assert.equal(saved.reply, 'site', JSON.stringify(saved));

      const t = await command(page, { test_site: { site: f.id } });
      assert.equal(t.reply, 'connection', JSON.stringify(t));
      assert.equal(t.report.reachable, true);
      assert.equal(t.report.authenticated, true);
      assert.equal(t.report.admin, true);
      assert.equal(t.report.channel_count, CHANNELS, JSON.stringify(t.report));
      if (f.hint) assert.match(t.report.flavour_hint ?? '', f.hint);

      const got = await command(page, { get_settings: { site: f.id } });
      const s = await command(page, { save_settings: { site: f.id, settings: { ...got.settings, ...FAST } } });
      assert.equal(s.reply, 'settings', JSON.stringify(s));

      const started = await command(page, { start_run: { site: f.id, selection: 'all' } });
      assert.equal(started.reply, 'run_started', JSON.stringify(started));
      const run = await waitFor(`run of ${f.id}`, async () => {
        const r = await command(page, { get_run: { site: f.id, run: started.run } });
        return r.reply === 'run' && r.head.state !== 'running' ? r : null;
      });
      assert.equal(run.head.state, 'finished', JSON.stringify(run.head));
      const failed = run.items.filter((i) => i.status === 'failed');
      assert.deepEqual(failed, [], `${f.id}: no channel failed`);
      const written = run.items.filter((i) => i.status === 'success');
      assert.ok(written.length > 0, `${f.id}: the seeded drift was synced (${JSON.stringify(run.items.map((i) => i.status))})`);
      const st = await (await fetch(`${gw.url}/__mock/state`)).json();
      for (const item of run.items) {
        assert.equal(st.writes[item.channel_id.split('/').pop()] ?? 0, item.status === 'success' ? 1 : 0,
          `${f.id}: channel ${item.channel_id} (${item.status})`);
      }

      // A second run finds everything in step.
      const again = await command(page, { start_run: { site: f.id, selection: 'all' } });
      const run2 = await waitFor(`second run of ${f.id}`, async () => {
        const r = await command(page, { get_run: { site: f.id, run: again.run } });
        return r.reply === 'run' && r.head.state !== 'running' ? r : null;
      });
      assert.equal(run2.items.filter((i) => i.status === 'success' || i.status === 'failed').length, 0,
        `${f.id}: ${JSON.stringify(run2.items.map((i) => [i.channel_id, i.status, i.message]))}`);
      // The run's lock is released just after its record says finished: removing may need a moment.
      await waitFor(`removing ${f.id}`, async () =>
        (await command(page, { remove_site: { site: f.id } })).reply === 'ok', { timeout: 10000 });
    } finally {
      gw.stop();
    }
  });
}
