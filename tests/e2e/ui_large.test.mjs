// A large site in the options page: 450 channels, one of them with 1,500 new upstream models.
// The results table shows pages of 200 rows ("Show more" adds the next 200) and the diff of the
// huge channel is a preview with a notice, while the gateway gets every name.
// Screenshot: target/e2e-artifacts/ui-large-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startGateway, command, screenshot } from './harness.mjs';

const TOKEN = 'sk-e2e-large-secret-5e0c2a';
// Generous: the run is 450 channels in a real browser; on a loaded 2-core machine it took over
// 2 minutes once. Speed is measured by `cargo xtask bench`, not here.
const LONG = { timeout: 300000 };
const CHANNELS = 450;

let ext;
let gw;
let page;

before(async () => {
  gw = await startGateway(['--flavor', 'new-api', '--channels', String(CHANNELS), '--token', TOKEN]);
  ext = await launch({ colorScheme: 'light', locale: 'en-US' });
  page = await ext.ctx.newPage();
});
after(async () => {
  await ext?.close();
  gw?.stop();
});

const split = (models) => (Array.isArray(models) ? models : String(models).split(',').filter(Boolean));

test('a 450-channel run pages its table and previews a 1,500-model diff', async () => {
  const current = split((await (await fetch(`${gw.url}/__mock/channels/1`)).json()).models);
  const added = Array.from({ length: 1500 }, (_, i) => `bulk-model-${String(i).padStart(4, '0')}`);
  await gw.control('upstream/1', { models: [...current, ...added] });

  await page.goto(ext.url('options.html'));
  const saved = await command(page, { save_site: {
    site: { id: 'big', name: 'Big', kind: 'new-api', base_url: gw.url, credentials: { token: TOKEN, user_id: 1 } },
  } });
  assert.equal(saved.reply, 'site', JSON.stringify(saved));
  // The loopback gateway can take it: the widest limits the settings allow.
  const fast = await command(page, { save_settings: {
    site: 'big',
    settings: { concurrency: 16, rate: { rpm: 600, burst: 50, site_rpm: 6000, site_burst: 100 } },
  } });
  assert.equal(fast.reply, 'settings', JSON.stringify(fast));
  await page.reload();
  await page.getByTestId('nav-sync').click();
  await page.getByTestId('no-runs').waitFor(LONG);
  await page.getByTestId('run-all').click();
  await page.getByTestId('stats').getByText(/Total channels\s*450/).waitFor(LONG);
  await page.getByTestId('run-all').and(page.locator(':not([disabled])')).waitFor(LONG);

  // The gateway has every name of the huge channel.
  const written = split((await (await fetch(`${gw.url}/__mock/channels/1`)).json()).models);
  assert.equal(written.length, current.length + 1500);
  assert.ok(written.includes('bulk-model-1499'));

  // 200 rows on screen, then 400, then all 450.
  const rows = page.getByTestId('result-row');
  await page.getByTestId('rows-shown').waitFor(LONG);
  assert.equal(await rows.count(), 200);
  assert.match(await page.getByTestId('rows-shown').innerText(), /Showing 200 of 450 channels/);
  await page.getByTestId('show-more').click();
  await page.getByTestId('rows-shown').getByText(/Showing 400 of 450/).waitFor();
  assert.equal(await rows.count(), 400);
  await page.getByTestId('show-more').click();
  await page.getByTestId('show-more').waitFor({ state: 'detached' });
  assert.equal(await rows.count(), CHANNELS);

  // A filter starts from the first page again; search finds the huge channel.
  await page.getByTestId('search').fill('openai-main');
  const huge = page.locator('[data-testid="result-row"][data-channel="1"]');
  await huge.waitFor();
  assert.match(await huge.innerText(), /\+1500/);
  await huge.getByTestId('view-diff').click();
  const diff = page.getByTestId('diff');
  await diff.waitFor();
  const notice = await diff.getByTestId('diff-cut').innerText();
  const n = current.length;
  assert.match(notice, new RegExp(`showing ${n} of ${n} old and 1000 of ${n + 1500} new names`));
  assert.equal(await diff.locator('ul.models').nth(1).locator('li').count(), 1000);
  assert.match(await diff.innerText(), new RegExp(`New models \\(${current.length + 1500}\\)`));
  await screenshot(page, 'ui-large-diff');
  // Keyboard: focus starts inside the dialog and stays there; Escape closes it.
  const inDialog = () => page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]'));
  assert.ok(await inDialog(), 'focus moved into the dialog');
  for (const key of ['Tab', 'Tab', 'Shift+Tab', 'Tab']) {
    await page.keyboard.press(key);
    assert.ok(await inDialog(), `focus still in the dialog after ${key}`);
  }
  await page.keyboard.press('Escape');
  await diff.waitFor({ state: 'detached' });
  await page.getByTestId('search').fill('');
  await page.getByTestId('rows-shown').waitFor();
  assert.equal(await rows.count(), 200);
  await screenshot(page, 'ui-large-table');

  // Reasons the engine wrote follow the page's language.
  await page.getByTestId('chip-skipped').click();
  const skipped = page.getByTestId('result-row').first();
  assert.match(await skipped.innerText(), /the channel is disabled/);
  await page.getByTestId('lang').selectOption('zh-CN');
  await skipped.getByText('该渠道已禁用（禁用的渠道会被跳过；见设置）').waitFor();
  await screenshot(page, 'ui-large-skipped-zh');
  await page.getByTestId('lang').selectOption('en');
  await page.getByTestId('chip-all').click();
});
