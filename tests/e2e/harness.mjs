// Shared helpers for the end-to-end tests: launch Debian's Chromium with the built extension,
// start the mock gateway on 127.0.0.1, and talk to the service worker.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { flat } from '../reply.mjs';

export { flat };

export const EXT_DIR = process.env.MSYNC_EXTENSION_DIR;
export const MOCKGW = process.env.MSYNC_MOCKGW;
export const ARTIFACTS = process.env.MSYNC_ARTIFACTS || join(tmpdir(), 'msync-artifacts');

if (!EXT_DIR || !MOCKGW) {
  throw new Error('run through `cargo xtask e2e` (MSYNC_EXTENSION_DIR and MSYNC_MOCKGW are not set)');
}

/** Launch Chromium with the extension; resolves once its service worker is up. */
export async function launch({ colorScheme = 'light', locale = 'en-US', headless = true } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'msync-e2e-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless,
    colorScheme,
    locale,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic',
      `--disable-extensions-except=${EXT_DIR}`, `--load-extension=${EXT_DIR}`,
      `--lang=${locale}`,
    ],
  });
  const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker', { timeout: 15000 }));
  const extId = new URL(sw.url()).host;
  // Wait for Rust's on_startup to have run.
  await sw.evaluate(() => self.msyncStarted);
  return {
    ctx,
    sw,
    extId,
    url: (page) => `chrome-extension://${extId}/${page}`,
    async close() {
      await ctx.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Start mockgw on a free loopback port. The mock enforces the real servers' admin API limits by
 * default (New API 180 requests / 180 s …); these browser tests run many syncs of one mock at
 * raised speed settings, so they turn it off unless a test passes its own `--rate-limit`. The
 * limits and msync's answer to them are tested in crates/cli/tests/real_servers.rs and the
 * engine's virtual-time tests.
 */
export async function startGateway(args = []) {
  const limit = args.includes('--rate-limit') ? [] : ['--rate-limit', 'off'];
  const proc = spawn(MOCKGW, ['--port', '0', ...limit, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mockgw did not start')), 15000);
    proc.on('exit', (code) => reject(new Error(`mockgw exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = line.match(/http:\/\/127\.0\.0\.1:\d+/);
      m ? resolve(m[0]) : reject(new Error(`unexpected mockgw output: ${line}`));
    });
  });
  lines.on('line', () => {}); // keep draining
  return {
    url,
    async control(path, body) {
      const res = await fetch(`${url}/__mock/${path}`, body === undefined ? {} : {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      return res.json();
    },
    stop() { proc.kill(); },
  };
}

/**
 * Sync settings for browser tests that run whole syncs: buckets far above the defaults (the mock
 * runs with its rate limit off), two channels at a time, and no removal held for review.
 */
export const FAST_SETTINGS = {
  rate: { rpm: 600, burst: 50, scope: 'per-host', site_rpm: 6000, site_burst: 100 },
  concurrency: 2,
  removal_threshold_pct: 100,
};

/**
 * Poll `fn` until it returns something truthy; fail with its last answer (or error) after
 * `timeout` ms. A throw counts as "not yet": a service worker may be restarting between polls.
 */
export async function waitFor(what, fn, { timeout = 60000, every = 150 } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 400)}`);
}

/** Send one protocol command from an extension page, as the UI does; the reply read `flat`. */
export async function command(page, cmd) {
  return flat(await commandRaw(page, cmd));
}

/** The reply exactly as it travels. */
export async function commandRaw(page, cmd) {
  return page.evaluate((c) => chrome.runtime.sendMessage(c), cmd);
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
