// `cargo xtask demo`: the extension against the bundled demo gateway. The demo site is added and
// a first sync is run through the worker's own protocol, exactly as the options page does.
// With a display, a real window stays open until you close it; headless, screenshots are saved
// and it exits.
import { chromium } from 'playwright-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flat } from './reply.mjs';

const extDir = process.env.MSYNC_EXTENSION_DIR;
const gateway = process.env.MSYNC_GATEWAY_URL;
const out = process.env.MSYNC_DEMO_OUT;
const headless = !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;

const ctx = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'msync-demo-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless,
  viewport: headless ? { width: 1280, height: 900 } : null,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic',
    `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`],
});
const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
await sw.evaluate(() => self.msyncStarted);
const extId = new URL(sw.url()).host;
const page = await ctx.newPage();
await page.goto(`chrome-extension://${extId}/options.html#sites`);
const send = async (cmd) => flat(await page.evaluate((c) => chrome.runtime.sendMessage(c), cmd));
const must = (reply, want) => {
  if (reply.reply !== want) throw new Error(`demo: expected ${want}, got ${JSON.stringify(reply).slice(0, 300)}`);
  return reply;
};

// The demo site: the bundled gateway with its default admin token.
const site = must(await send({ save_site: {
  site: { name: 'Demo gateway', kind: 'new-api', base_url: gateway, credentials: { token: 'mock-admin-token', user_id: 1 } },
} }), 'site').site;
// The shipped defaults (20 requests/min per upstream) would take minutes for 60 channels; the
// demo gateway is local, so it may go faster.
const current = must(await send({ get_settings: { site: site.id } }), 'settings').settings;
must(await send({ save_settings: {
  site: site.id,
  settings: { ...current, rate: { ...current.rate, rpm: 600, burst: 50, site_rpm: 6000, site_burst: 100 }, concurrency: 4 },
} }), 'settings');
const test = must(await send({ test_site: { site: site.id } }), 'connection').report;
console.log(`demo: ${site.name} at ${gateway}: ${test.channel_count} channels, version ${test.version ?? '?'}`);

const run = must(await send({ start_run: { site: site.id, selection: 'all' } }), 'run_started').run;
let head;
for (let i = 0; i < 600; i += 1) {
  const r = await send({ get_run: { site: site.id, run } });
  if (r.reply === 'run' && r.head.state !== 'running') { head = r.head; break; }
  await new Promise((res) => setTimeout(res, 250));
}
if (!head) throw new Error('demo: the first sync did not finish');
console.log(`demo: first sync ${head.state}: ${JSON.stringify(head.totals)}`);

// A fresh page: the options page reads its tab from the URL when it opens.
const dashboard = await ctx.newPage();
await dashboard.goto(`chrome-extension://${extId}/options.html#sync`);
await dashboard.getByText('Demo gateway').first().waitFor();
await page.close();
if (headless) {
  await dashboard.waitForTimeout(500);
  await dashboard.screenshot({ path: join(out, 'options.png'), fullPage: true });
  const popup = await ctx.newPage();
  await popup.setViewportSize({ width: 400, height: 420 });
  await popup.goto(`chrome-extension://${extId}/popup.html`);
  await popup.getByText('Demo gateway').first().waitFor();
  await popup.waitForTimeout(300);
  await popup.screenshot({ path: join(out, 'popup.png') });
  console.log(`demo: screenshots in ${out}/options.png and ${out}/popup.png`);
  await ctx.close();
} else {
  console.log('demo: the browser window is yours; close it to stop the demo gateway.');
  await new Promise((resolve) => ctx.on('close', resolve));
}
