// `cargo xtask demo`: the extension against the bundled demo gateway. With a display, a real
// window stays open until you close it; headless, screenshots are saved and it exits.
import { chromium } from 'playwright-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const extDir = process.env.MSYNC_EXTENSION_DIR;
const gateway = process.env.MSYNC_GATEWAY_URL;
const out = process.env.MSYNC_DEMO_OUT;
const headless = !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;

const ctx = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'msync-demo-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless,
  viewport: headless ? { width: 1280, height: 800 } : null,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-sync', '--disable-quic',
    `--disable-extensions-except=${extDir}`, `--load-extension=${extDir}`],
});
const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker'));
await sw.evaluate(() => self.msyncStarted);
const extId = new URL(sw.url()).host;

// The demo site: the bundled gateway with its default admin token.
const site = {
  id: 'demo', name: 'Demo gateway', kind: 'new-api', base_url: gateway,
  credentials: { token: 'mock-admin-token', user_id: 1 },
};
await sw.evaluate((s) => chrome.storage.local.set({ sites: JSON.stringify([s]) }), site);

const options = await ctx.newPage();
await options.goto(`chrome-extension://${extId}/options.html`);
await options.getByText('Demo gateway').first().waitFor();
const channels = await options.evaluate(() => chrome.runtime.sendMessage({ cmd: 'list_channels', site: 'demo' }));
const count = channels.reply === 'channels' ? channels.channels.length : `error: ${channels.message}`;
console.log(`demo: extension ${extId} sees ${count} channels on ${gateway}`);

if (headless) {
  await options.screenshot({ path: join(out, 'options.png'), fullPage: true });
  const popup = await ctx.newPage();
  await popup.setViewportSize({ width: 360, height: 420 });
  await popup.goto(`chrome-extension://${extId}/popup.html`);
  await popup.getByText('Demo gateway').first().waitFor();
  await popup.screenshot({ path: join(out, 'popup.png') });
  console.log(`demo: screenshots in ${out}/options.png and ${out}/popup.png`);
  await ctx.close();
} else {
  console.log('demo: the browser window is yours; close it to stop the demo gateway.');
  await new Promise((resolve) => ctx.on('close', resolve));
}
