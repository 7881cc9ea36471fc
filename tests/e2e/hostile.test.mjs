// Hostile and odd input through the real extension: a model name with a comma, a gateway that
// redirects to another origin, and plain http to a public host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { launch, startGateway, command, waitFor, FAST_SETTINGS } from './harness.mjs';

const TOKEN = 'sk-e2e-hostile-secret-93c1f0';
const FAST = { ...FAST_SETTINGS, skip_disabled: false };

let ext;
let page;

async function run(site, selection) {
  const started = await command(page, { start_run: { site, selection } });
  assert.equal(started.reply, 'run_started', JSON.stringify(started));
  return waitFor(`run ${started.run}`, async () => {
    const r = await command(page, { get_run: { site, run: started.run } });
    return r.reply === 'run' && r.head.state !== 'running' ? r : null;
  });
}

async function requests(gw) {
  return (await (await fetch(`${gw.url}/__mock/requests`)).json()).requests;
}

before(async () => {
  ext = await launch();
  page = await ext.ctx.newPage();
  await page.goto(ext.url('popup.html'));
});

after(async () => {
  await ext?.close();
});

for (const f of [
  { kind: 'new-api', creds: { token: TOKEN, user_id: 1 }, args: ['--token', TOKEN], field: 'models' },
  { kind: 'octopus', creds: { username: 'admin', password: 'pw-e2e-1' }, args: ['--password', 'pw-e2e-1'], field: 'model' },
]) {
  test(`${f.kind}: an upstream name with a comma holds the channel, run after run`, async () => {
    const gw = await startGateway(['--flavor', f.kind, '--channels', '3', ...f.args]);
    const site = `comma-${f.kind}`;
    try {
      const saved = await command(page, {
        save_site: { site: { id: site, name: site, kind: f.kind, base_url: gw.url, credentials: f.creds } },
      });
      assert.equal(saved.reply, 'site', JSON.stringify(saved));
      const got = await command(page, { get_settings: { site } });
      const rules = [{ kind: 'regex', pattern: '^o1-pro$', action: 'exclude' }];

      // User input with a comma is refused when saved.
      const bad = await command(page, {
        save_settings: { site, settings: { ...got.settings, ...FAST, rules, allow_list: ['gpt-4o,o1-pro'] } },
      });
      assert.equal(bad.reply, 'invalid', JSON.stringify(bad));
      assert.deepEqual(bad.issues.map((i) => i.field), ['allow_list[0]']);
      assert.match(bad.issues[0].message, /comma/);

      const ok = await command(page, { save_settings: { site, settings: { ...got.settings, ...FAST, rules } } });
      assert.equal(ok.reply, 'settings', JSON.stringify(ok));
      await gw.control('upstream/1', { models: ['gpt-4o,o1-pro', 'gpt-4o'] });
      const before = (await (await fetch(`${gw.url}/__mock/channels/1`)).json())[f.field];
      for (const round of [1, 2]) {
        const r = await run(site, { channels: ['1'] });
        assert.equal(r.items.length, 1);
        const item = r.items[0];
        assert.equal(item.status, 'failed', `round ${round}: ${JSON.stringify(item)}`);
        assert.equal(item.error_class, 'validation');
        assert.match(item.message, /"gpt-4o,o1-pro"/);
        const st = await (await fetch(`${gw.url}/__mock/state`)).json();
        assert.equal(st.writes['1'] ?? 0, 0, `round ${round}: never written`);
        const now = (await (await fetch(`${gw.url}/__mock/channels/1`)).json())[f.field];
        assert.equal(now, before, `round ${round}: unchanged`);
      }
    } finally {
      gw.stop();
    }
  });
}

test('a gateway that redirects to another origin: nothing reaches the target', async () => {
  const target = await startGateway(['--flavor', 'octopus', '--channels', '3', '--password', 'pw-e2e-2']);
  const seen = [];
  const front = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(307, { Location: `${target.url}${req.url}`, 'Content-Length': '0' });
    res.end();
  });
  await new Promise((r) => front.listen(0, '127.0.0.1', r));
  const frontUrl = `http://127.0.0.1:${front.address().port}`;
  try {
    await fetch(`${target.url}/__mock/requests`, { method: 'DELETE' });
    const saved = await command(page, { save_site: {
      site: { id: 'moved', name: 'moved', kind: 'octopus', base_url: frontUrl, credentials: { username: 'admin', password: 'pw-e2e-2' } },
    } });
    assert.equal(saved.reply, 'site', JSON.stringify(saved));
    const t = await command(page, { test_site: { site: 'moved' } });
    assert.equal(t.reply, 'error', JSON.stringify(t));
    assert.equal(t.class, 'invalid_response');
    assert.match(t.message, /redirect/);
    assert.ok(!t.message.includes('pw-e2e-2'));

    const r = await run('moved', 'all');
    assert.notEqual(r.head.state, 'finished', JSON.stringify(r.head));
    assert.match(JSON.stringify(r.head), /redirect/);

    assert.ok(seen.some((s) => s.startsWith('POST /api/v1/user/login')), `the first server was asked: ${seen}`);
    assert.deepEqual(await requests(target), [], 'the redirect target received nothing');
  } finally {
    front.close();
    target.stop();
  }
});

test('plain http to a public host needs explicit consent', async () => {
  const input = { id: 'public', name: 'public', kind: 'new-api', base_url: 'http://gw.example.com', credentials: { token: TOKEN, user_id: 1 } };
  const refused = await command(page, { save_site: { site: input } });
  assert.equal(refused.reply, 'invalid', JSON.stringify(refused));
  assert.deepEqual(refused.issues.map((i) => i.field), ['allow_insecure']);
  const sites = await command(page, 'list_sites');
  assert.ok(!sites.sites.some((s) => s.id === 'public'), 'nothing saved');

  const saved = await command(page, { save_site: { site: { ...input, allow_insecure: true } } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  assert.equal(saved.site.insecure, true);
  assert.equal(saved.site.allow_insecure, true);
  assert.equal((await command(page, { remove_site: { site: 'public' } })).reply, 'ok');
});

test('an international host name is read through the browser (the wasm has no IDNA data)', async () => {
  // The worker's `url` crate has no Unicode data (idna_adapter 1.0, xtask/src/proc.rs): the
  // browser's URL parser gives it the host's ASCII form. A host it could not read would be
  // refused as a bad `base_url`, and plain http to it would not be seen as public.
  const input = { id: 'idn', name: 'idn', kind: 'new-api', base_url: 'http://例子.example', credentials: { token: TOKEN, user_id: 1 } };
  const refused = await command(page, { save_site: { site: input } });
  assert.equal(refused.reply, 'invalid', JSON.stringify(refused));
  assert.deepEqual(refused.issues.map((i) => i.field), ['allow_insecure']);

  const saved = await command(page, { save_site: { site: { ...input, base_url: 'https://例子.example/' } } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  assert.equal(saved.site.insecure, false);
  assert.equal((await command(page, { remove_site: { site: 'idn' } })).reply, 'ok');

  const bad = await command(page, { save_site: { site: { ...input, base_url: 'https://例 子.example' } } });
  assert.equal(bad.reply, 'invalid', JSON.stringify(bad));
  assert.deepEqual(bad.issues.map((i) => i.field), ['base_url']);
});

test('a response body over 64 MiB is refused, not buffered', async () => {
  const chunk = Buffer.alloc(1 << 20, 0x20); // 1 MiB of spaces
  const big = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked: no Content-Length
    let sent = 0;
    const more = () => {
      while (sent < 80) {
        sent += 1;
        if (!res.write(chunk)) return res.once('drain', more);
      }
      res.end('{}');
    };
    more();
  });
  await new Promise((r) => big.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${big.address().port}`;
    const saved = await command(page, {
      save_site: { site: { id: 'big', name: 'big', kind: 'done-hub', base_url: base, credentials: { token: TOKEN } } },
    });
    assert.equal(saved.reply, 'site', JSON.stringify(saved));
    const t = await command(page, { test_site: { site: 'big' } });
    assert.equal(t.reply, 'error', JSON.stringify(t).slice(0, 300));
    assert.match(t.message, /exceeds the 67108864 byte limit/);
    assert.equal((await command(page, { remove_site: { site: 'big' } })).reply, 'ok');
  } finally {
    big.close();
  }
});
