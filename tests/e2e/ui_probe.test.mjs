// Issue 21, probe before adding (docs/probe.md), in headless Chromium against mockgw on
// 127.0.0.1: probing is switched on in Settings, a sync runs, and the model the gateway's channel
// test refuses is held back — shown in the results table with the gateway's reason, in English
// and Chinese. An Octopus site (no channel test) shows the option disabled with the reason.
// Screenshots: target/e2e-artifacts/ui-probe-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, screenshot } from './harness.mjs';

const TOKEN = 'sk-e2e-probe-secret-51c0de';
const LONG = { timeout: 60000 };
const HELD = 'probe-held-model';
const GOOD = 'probe-good-model';
const REASON = 'The model `probe-held-model` does not exist or you do not have access to it.';

let ext;
let gw;
let octo;
let page;

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '3', '--token', TOKEN]);
  octo = await startGateway(['--flavor', 'octopus', '--channels', '2', '--password', 'admin-e2e-pw']);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
});
after(async () => {
  await ext?.close();
  gw?.stop();
  octo?.stop();
});

async function shots(name) {
  for (const lang of ['en', 'zh-CN']) {
    await page.getByTestId('lang').selectOption(lang);
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await screenshot(page, `ui-probe-${name}-${lang === 'en' ? 'en' : 'zh'}-${scheme}`);
    }
  }
  await page.getByTestId('lang').selectOption('en');
  await page.emulateMedia({ colorScheme: 'light' });
}

test('a run with probing on holds back the model the gateway refuses and shows why', async () => {
  await page.goto(ext.url('options.html'));
  const saved = await command(page, { save_site: {
    site: { id: 'main', name: 'Main', kind: 'new-api', base_url: gw.url, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  // One enabled channel gains two models upstream; the gateway's test refuses one of them.
  const { channels } = await command(page, { list_channels: { site: 'main' } });
  const ch = channels.find((c) => c.enabled);
  assert.ok(ch, 'an enabled channel');
  for (const c of channels) {
    // Every other channel's upstream serves exactly what it lists: only `ch` changes.
    const models = c.id === ch.id ? [...c.models, GOOD, HELD] : c.models;
    await gw.control(`upstream/${c.id}`, { models });
  }
  const scripted = await gw.control('probe', { model: HELD, answer: 'fail', message: REASON, status: 404 });
  assert.equal(scripted.ok, true, JSON.stringify(scripted));

  // Settings: switch probing on (New API has a channel test: the option is available).
  await page.reload();
  await page.getByTestId('nav-settings').click();
  const fieldset = page.getByTestId('probe-settings');
  await fieldset.waitFor(LONG);
  const enabled = page.getByTestId('probe-enabled');
  assert.equal(await enabled.isDisabled(), false);
  assert.equal(await enabled.isChecked(), false, 'probing is off by default');
  assert.equal(await page.getByTestId('probe-missing').count(), 0);
  // The defaults once the settings arrive: results trusted for 7 days.
  await page.waitForFunction(() => document.querySelector('[data-field="probe.cache_ttl_days"]')?.value === '7');
  await enabled.check();
  await page.getByTestId('save-settings').click();
  await page.getByText('Settings saved.').waitFor();
  await fieldset.scrollIntoViewIfNeeded();
  await shots('settings');
  const stored = await command(page, { get_settings: { site: 'main' } });
  assert.equal(stored.settings.probe.enabled, true);

  // Sync: run all; the refused model is held back, the other is added.
  await page.getByTestId('nav-sync').click();
  await page.getByTestId('run-all').click();
  const row = page.locator(`[data-testid="result-row"][data-channel="${ch.id}"]`);
  const held = row.getByTestId('held-back');
  await held.waitFor(LONG);
  await page.getByTestId('run-all').and(page.locator(':not([disabled])')).waitFor(LONG);
  assert.equal(await held.count(), 1);
  assert.equal(await held.getAttribute('data-model'), HELD);
  const en = await held.innerText();
  assert.match(en, /failed: the upstream does not know the model/);
  assert.match(en, /does not exist or you do not have access/);
  assert.match(await page.getByTestId('probe-summary').innerText(), /2 probes sent, 0 from the cache; 1 models held back/);
  // What the gateway now holds: the good model, not the held one.
  const stored1 = await (await fetch(`${gw.url}/__mock/channels/${ch.id}`)).json();
  assert.ok(stored1.models.split(',').includes(GOOD), stored1.models);
  assert.ok(!stored1.models.split(',').includes(HELD), stored1.models);
  // Exactly two channel tests reached the gateway, both for that channel.
  const { probes } = await (await fetch(`${gw.url}/__mock/probe`)).json();
  assert.deepEqual(probes.map((p) => [p.channel, p.model]).sort(), [[Number(ch.id), GOOD], [Number(ch.id), HELD]].sort());
  // Channel health under the name: this channel synced just now, no failures in a row.
  await page.waitForFunction(
    (id) => {
      const r = document.querySelector(`[data-testid="result-row"][data-channel="${id}"]`);
      const t = r?.querySelector('[data-testid="last-good"]')?.textContent;
      return t && t !== 'never';
    },
    ch.id,
    LONG,
  );
  assert.equal(await row.getByTestId('failures-in-row').innerText(), '0');
  assert.match(await row.getByTestId('health').innerText(), /Last good sync: .* · Failures in a row: 0/);
  // The row actions stay inside the card with the health line.
  const wrap = await page.locator('.tablewrap').first().boundingBox();
  for (const b of await row.locator('td.actions button').all()) {
    const box = await b.boundingBox();
    assert.ok(box.x + box.width <= wrap.x + wrap.width, `a row action ends at ${box.x + box.width}, the card at ${wrap.x + wrap.width}`);
  }

  await row.scrollIntoViewIfNeeded();
  await page.getByTestId('lang').selectOption('zh-CN');
  const zh = await held.innerText();
  assert.match(zh, /失败：上游不认识该模型/);
  assert.match(zh, /does not exist/, 'the gateway’s own message is shown as it came');
  assert.match(await page.getByTestId('probe-summary').innerText(), /已发送 2 次探测/);
  assert.match(await row.getByTestId('health').innerText(), /上次成功同步：?.*连续失败/);
  await page.getByTestId('lang').selectOption('en');
  await shots('sync-held-back');

  // A second run within the TTL sends no test: the cached answer still holds the model back.
  await page.getByTestId('run-all').click();
  await page.getByTestId('probe-summary').getByText('0 probes sent, 1 from the cache').waitFor(LONG);
  const again = await (await fetch(`${gw.url}/__mock/probe`)).json();
  assert.equal(again.probes.length, 2);
  // The results sort by channel health (issue 21: "sortable in the results table").
  await page.getByTestId('health-sort').selectOption('failures');
  assert.equal(await page.getByTestId('health-sort').inputValue(), 'failures');
  await row.waitFor();
  await page.getByTestId('health-sort').selectOption('run');
});

test('a gateway without a channel test shows the option disabled with the reason', async () => {
  const saved = await command(page, { save_site: {
    site: { id: 'octo', name: 'Octo', kind: 'octopus', base_url: octo.url, credentials: { username: 'admin', password: 'admin-e2e-pw' } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  await page.reload();
  await page.getByTestId('site-picker').selectOption('octo');
  await page.getByTestId('nav-settings').click();
  const missing = page.getByTestId('probe-missing');
  await missing.waitFor(LONG);
  assert.match(await missing.innerText(), /has no channel test/);
  assert.equal(await page.getByTestId('probe-enabled').isDisabled(), true);
  await page.getByTestId('probe-settings').scrollIntoViewIfNeeded();
  await page.getByTestId('lang').selectOption('zh-CN');
  assert.match(await missing.innerText(), /没有渠道测试接口/);
  await page.getByTestId('lang').selectOption('en');
  await shots('settings-octopus');
});
