// Browser timings of the built extension for `cargo xtask bench` (not a test: it asserts nothing).
//
//   node --experimental-websocket tests/bench/pages.mjs   (MSYNC_EXTENSION_DIR = dist/extension)
//
// Prints one JSON object on the last line of stdout:
// * popup / options: for each of RUNS fresh page loads, first paint and first contentful paint
//   (Paint Timing API) and "interactive" = the moment the site list is rendered (the known
//   element `[data-testid="empty-sites"]` or `[data-testid="sites"]`, which the Rust UI shows
//   after its first round trip to the worker; its event handlers are attached by then), recorded
//   by a MutationObserver installed before any page script runs. All times are ms from navigation
//   start (performance.now()).
//   The pages' bodies are empty until the wasm UI renders, so first contentful paint is the
//   first paint of the Rust UI.
// * service worker: first start (launch → the worker's Rust on_startup resolved), cold start
//   (the worker stopped through CDP → a `ping` from a page answered), warm `ping` round trip, and
//   its JS heap (CDP Runtime.getHeapUsage and Performance.getMetrics on the worker target).
// Network: none (the browser loads the unpacked extension from disk; CDP is on 127.0.0.1).
import { chromium } from 'playwright-core';
import { cdpConnect } from './cdp.mjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EXT_DIR = process.env.MSYNC_EXTENSION_DIR;
const RUNS = Number(process.env.MSYNC_BENCH_RUNS || 10);
if (!EXT_DIR) throw new Error('set MSYNC_EXTENSION_DIR (cargo xtask bench does)');

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// The site list after the UI's first round trip to the worker (empty on a fresh profile).
const READY = '[data-testid="empty-sites"], [data-testid="sites"]';
const INIT = `(() => {
  const READY = ${JSON.stringify(READY)};
  const mark = () => {
    if (window.__benchInteractive === undefined &&
        document.querySelector(READY)) {
      window.__benchInteractive = performance.now();
    }
  };
  new MutationObserver(mark).observe(document, { childList: true, subtree: true });
})();`;

async function pageTimings(ctx, url, viewport) {
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await ctx.newPage();
    if (viewport) await page.setViewportSize(viewport);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__benchInteractive !== undefined, null, { timeout: 30000 })
      .catch(() => {});
    // Paint entries are delivered asynchronously; give them a frame or two.
    await page.waitForFunction(
      () => performance.getEntriesByName('first-contentful-paint').length > 0, null, { timeout: 5000 },
    ).catch(() => {});
    rows.push(await page.evaluate(() => ({
      firstPaint: performance.getEntriesByName('first-paint')[0]?.startTime ?? null,
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      interactive: window.__benchInteractive ?? null,
      domContentLoaded: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? null,
    })));
    await page.close();
  }
  return {
    runs: rows,
    median: {
      firstPaint: median(rows.map((r) => r.firstPaint)),
      fcp: median(rows.map((r) => r.fcp)),
      interactive: median(rows.map((r) => r.interactive)),
    },
  };
}

async function main() {
  const userDataDir = await mkdtemp(join(tmpdir(), 'msync-bench-'));
  const t0 = performance.now();
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic', '--remote-debugging-port=0',
      '--remote-debugging-address=127.0.0.1',
      `--disable-extensions-except=${EXT_DIR}`, `--load-extension=${EXT_DIR}`, '--lang=en-US',
    ],
  });
  const out = {};
  try {
    const launched = performance.now();
    const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker', { timeout: 15000 }));
    await sw.evaluate(() => self.msyncStarted);
    const started = performance.now();
    const extId = new URL(sw.url()).host;
    out.chromium = await sw.evaluate(() => navigator.userAgent.match(/Chrom(?:e|ium)\/([\d.]+)/)?.[1] ?? null);
    out.sw = { launchMs: launched - t0, firstStartMs: started - launched };
    await ctx.addInitScript(INIT);

    out.popup = await pageTimings(ctx, `chrome-extension://${extId}/popup.html`, { width: 360, height: 600 });
    out.options = await pageTimings(ctx, `chrome-extension://${extId}/options.html`, null);

    // Worker round trips: warm, then cold (stopped through CDP's ServiceWorker domain).
    const page = await ctx.newPage();
    await page.goto(`chrome-extension://${extId}/popup.html`);
    const ping = () => page.evaluate(async () => {
      const t = performance.now();
      const r = await chrome.runtime.sendMessage('ping');
      return { ms: performance.now() - t, ok: Boolean(r?.pong) };
    });
    const warm = [];
    for (let i = 0; i < RUNS; i++) warm.push((await ping()).ms);
    const session = await ctx.newCDPSession(page);
    const cold = [];
    try {
      await session.send('ServiceWorker.enable');
      for (let i = 0; i < Math.min(RUNS, 5); i++) {
        await session.send('ServiceWorker.stopAllWorkers');
        await new Promise((r) => setTimeout(r, 300));
        const r = await ping();
        if (r.ok) cold.push(r.ms);
      }
    } catch (e) {
      out.sw.coldError = String(e);
    }
    out.sw.warmPingMs = median(warm);
    out.sw.coldStartPingMs = median(cold);
    out.sw.coldRuns = cold.length;

    // The worker's heap, after the pings above (it is running again).
    await ping();
    try {
      const cdp = await cdpConnect(userDataDir);
      const { targetInfos } = await cdp.send('Target.getTargets');
      const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extId}/`));
      if (target) {
        const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
        await cdp.send('HeapProfiler.collectGarbage', {}, sessionId).catch(() => {});
        const heap = await cdp.send('Runtime.getHeapUsage', {}, sessionId);
        await cdp.send('Performance.enable', {}, sessionId).catch(() => {});
        const metrics = await cdp.send('Performance.getMetrics', {}, sessionId).catch(() => ({ metrics: [] }));
        const m = Object.fromEntries((metrics.metrics || []).map((x) => [x.name, x.value]));
        out.sw.heapUsedBytes = heap.usedSize;
        out.sw.heapTotalBytes = heap.totalSize;
        out.sw.metricsJSHeapUsedSize = m.JSHeapUsedSize ?? null;
        out.sw.metricsJSHeapTotalSize = m.JSHeapTotalSize ?? null;
      } else {
        out.sw.heapError = 'service worker target not found';
      }
      cdp.close();
    } catch (e) {
      out.sw.heapError = String(e);
    }
    await page.close();
  } finally {
    await ctx.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
