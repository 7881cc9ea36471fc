// Issue 19 in the options page, through real clicks in headless Chromium against mockgw on
// 127.0.0.1: a dry run's plan shows the models the site has no price for; the Notifications
// screen adds a signed webhook and a Telegram sink, keeps their secrets write-only, and "Send
// test" reaches the mock's fake receiver (crates/mockgw/src/receiver.rs). Screenshots (en + zh,
// light + dark): target/e2e-artifacts/ui-notify-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launch, startGateway, command, screenshot } from './harness.mjs';

const TOKEN = 'sk-e2e-notify-secret-4be1';
const BOT = '4242:SECRET-e2e-bot-token';
const HOOK = 'SECRET-e2e-hmac-key';
const LONG = { timeout: 60000 };

let ext;
let gw;
let page;

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', '1', '--token', TOKEN]);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
});
after(async () => {
  await ext?.close();
  gw?.stop();
});

async function shots(name) {
  await screenshot(page, `ui-notify-${name}-en-light`);
  await page.getByTestId('lang').selectOption('zh-CN');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(200);
  await screenshot(page, `ui-notify-${name}-zh-dark`);
  await page.getByTestId('lang').selectOption('en');
  await page.emulateMedia({ colorScheme: 'light' });
}

test('the plan shows unpriced models (price check: flag)', async () => {
  await page.goto(ext.url('options.html'));
  const saved = await command(page, { save_site: {
    site: { id: 'main', name: 'Main', kind: 'new-api', base_url: gw.url, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  const got = await command(page, { get_settings: { site: 'main' } });
  const settings = { ...got.settings, price_check: { mode: 'flag', only_confident: true } };
  const put = await command(page, { save_settings: { site: 'main', settings } });
  assert.equal(put.reply, 'settings', JSON.stringify(put));
  // The upstream brings one model the site prices (claude-sonnet-4) and one it does not.
  const ch = await gw.control('channels/1');
  const models = ch.models.split(',').filter((m) => m && m !== 'claude-sonnet-4' && m !== 'brand-new-x');
  await gw.control('upstream/1', { models: [...models, 'claude-sonnet-4', 'brand-new-x'] });

  await page.goto(ext.url('options.html#settings'));
  await page.reload();
  const mode = page.getByTestId('price-mode');
  await mode.waitFor(LONG);
  assert.equal(await mode.inputValue(), 'flag');

  await page.getByTestId('nav-sync').click();
  await page.getByTestId('dry-run').click();
  const plan = page.getByTestId('plan-review');
  await plan.waitFor(LONG);
  const badge = page.getByTestId('price-unpriced');
  await badge.waitFor(LONG);
  assert.equal(await badge.innerText(), 'Unpriced: brand-new-x');
  assert.match(await plan.getByTestId('price-notes').innerText(), /Unpriced: 1 added model\(s\) have no price/);
  await shots('plan');
  // In Chinese the same typed values read in Chinese.
  await page.getByTestId('lang').selectOption('zh-CN');
  await page.getByText('未定价：brand-new-x').waitFor();
  await page.getByText('未定价：1 个新增模型没有价格').waitFor();
  await page.getByTestId('lang').selectOption('en');
});

test('notification settings: sinks, write-only secrets, and a test reaching the receiver', async () => {
  await page.getByTestId('nav-notify').click();
  await page.getByTestId('notify-screen').waitFor(LONG);
  await page.getByTestId('add-webhook').click();
  const hook = page.getByTestId('sink-0');
  await hook.locator('[data-field="name"]').fill('ops-hook');
  await hook.locator('[data-field="name"]').press('Tab');
  await page.getByTestId('sink-0').locator('[data-field="url"]').fill(`${gw.url}/__notify/webhook/e2e`);
  await page.getByTestId('sink-0').locator('[data-field="url"]').press('Tab');
  await page.getByTestId('sink-0').locator('[data-field="secret"]').fill(HOOK);
  await page.getByTestId('sink-0').locator('[data-field="secret"]').press('Tab');
  // Only failures and unreachable sites for the hook.
  await page.getByTestId('sink-0').locator('[data-event="needs_review"]').uncheck();
  await page.getByTestId('sink-0').locator('[data-event="price_change"]').uncheck();

  await page.getByTestId('add-telegram').click();
  const tg = () => page.getByTestId('sink-1');
  await tg().locator('[data-field="url"]').fill(`${gw.url}/__notify/telegram`);
  await tg().locator('[data-field="url"]').press('Tab');
  await tg().locator('[data-field="extra"]').fill('-100777');
  await tg().locator('[data-field="extra"]').press('Tab');
  await tg().locator('[data-field="secret"]').fill(BOT);
  await tg().locator('[data-field="secret"]').press('Tab');
  await page.getByTestId('save-notify').click();
  await page.getByText('Settings saved.').waitFor(LONG);

  // The pages never get the secrets back; the stored record keeps them.
  const back = await command(page, 'get_notify');
  assert.equal(back.reply, 'notify');
  assert.deepEqual(back.secrets, [true, true]);
  assert.ok(!JSON.stringify(back).includes(BOT) && !JSON.stringify(back).includes(HOOK));
  assert.deepEqual(back.settings.sinks[0].events, ['run_failed', 'site_unreachable']);
  assert.match(await page.getByTestId('sink-0').locator('[data-field="secret"]').getAttribute('placeholder'), /stored/);

  // Send test: the webhook arrives signed with HMAC-SHA256 over its body.
  await gw.control('notify_bot_token', { token: BOT });
  await page.getByTestId('notify-test-0').click();
  await page.getByText('Test sent to ops-hook.').waitFor(LONG);
  let { received } = await gw.control('notifications');
  assert.equal(received.length, 1);
  const w = received[0];
  const sig = w.headers.find(([k]) => k === 'x-msync-signature')?.[1];
  assert.equal(sig, `sha256=${createHmac('sha256', HOOK).update(w.body).digest('hex')}`);
  assert.equal(JSON.parse(w.body).event, 'test');

  await page.getByTestId('notify-test-1').click();
  await page.getByText(/Test sent to telegram-2\./).waitFor(LONG);
  ({ received } = await gw.control('notifications'));
  assert.equal(received.length, 2);
  assert.equal(received[1].kind, 'telegram');
  assert.equal(received[1].path, `/__notify/telegram/bot${BOT}/sendMessage`);
  assert.equal(JSON.parse(received[1].body).chat_id, '-100777');

  // A failing receiver: the error is shown (without the token) and logged.
  await gw.control('notify_fail', { status: 502 });
  await page.getByTestId('notify-test-1').click();
  const err = page.getByText(/The test to telegram-2 failed/);
  await err.waitFor(LONG);
  assert.ok(!(await err.innerText()).includes(BOT));
  await gw.control('notify_fail', { status: null });
  await page.getByTestId('notify-log').waitFor(LONG);
  assert.match(await page.getByTestId('notify-log').innerText(), /failed/);
  await shots('settings');
});

test('price watch settings: upstream, schedule and the unattended apply guardrails, saved and read back', async () => {
  await page.goto(ext.url('options.html#settings'));
  await page.reload();
  const box = page.getByTestId('price-watch');
  await box.waitFor(LONG);
  // New API has ratio sync: the fieldset is usable.
  assert.equal(await page.getByTestId('price-watch-unavailable').count(), 0);
  const field = (name) => box.locator(`[data-field="${name}"]`);
  await field('price_watch.enabled').check();
  await field('price_watch.upstream.name').fill('official');
  await field('price_watch.upstream.name').press('Tab');
  await field('price_watch.upstream.base_url').fill(gw.url);
  await field('price_watch.upstream.base_url').press('Tab');
  await field('price_watch.interval_minutes').fill('60');
  await field('price_watch.interval_minutes').press('Tab');
  // The guardrails appear only with the unattended apply on.
  assert.equal(await page.getByTestId('price-watch-guardrails').count(), 0);
  await field('price_watch.apply.enabled').check();
  await page.getByTestId('price-watch-guardrails').waitFor();
  assert.equal(await field('price_watch.apply.max_raise_pct').inputValue(), '0', 'never raise by default');
  assert.ok(await field('price_watch.apply.only_confident').isChecked(), 'confident values only by default');
  await field('price_watch.apply.max_raise_pct').fill('10');
  await field('price_watch.apply.max_raise_pct').press('Tab');
  await page.getByTestId('save-settings').click();
  await page.getByText('Settings saved.').first().waitFor(LONG);

  const got = await command(page, { get_settings: { site: 'main' } });
  const w = got.settings.price_watch;
  assert.equal(w.enabled, true);
  assert.equal(w.interval_minutes, 60);
  assert.equal(w.upstream.name, 'official');
  assert.equal(w.upstream.base_url, gw.url);
  assert.equal(w.upstream.endpoint, '/api/pricing');
  assert.deepEqual(w.apply, { enabled: true, max_raise_pct: 10, new_models: false, only_confident: true });

  // After a reload the form shows what was stored.
  await page.reload();
  await box.waitFor(LONG);
  await page.getByTestId('price-watch-guardrails').waitFor(LONG);
  assert.equal(await field('price_watch.apply.max_raise_pct').inputValue(), '10');
  assert.equal(await field('price_watch.interval_minutes').inputValue(), '60');
  await box.scrollIntoViewIfNeeded();
  await page.getByTestId('lang').selectOption('zh-CN');
  await box.getByText('价格监控', { exact: true }).waitFor();
  await box.getByText('无人值守应用').waitFor();
  await page.getByTestId('lang').selectOption('en');
  await shots('price-watch');
});
