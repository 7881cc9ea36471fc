// The service worker's whole memory footprint for `cargo xtask bench` (not a test: it asserts
// nothing): JS heap plus the wasm module's linear memory, idle and during and after a
// 500-channel run against mockgw on 127.0.0.1.
//
//   node --experimental-websocket tests/bench/worker_memory.mjs
//   (MSYNC_EXTENSION_DIR = the loopback build of the extension, MSYNC_MOCKGW = the mockgw binary)
//
// * JS heap: CDP `Runtime.getHeapUsage` on the worker target (`usedSize`); idle and after the run
//   it is read after `HeapProfiler.collectGarbage`, during the run as it is.
// * wasm memory: `WebAssembly.Memory.buffer.byteLength` of the worker's module, read inside the
//   worker through `self.msyncWasmMemoryBytes()` (extension/background.js). Linear memory only
//   grows, so the value after the run is also the peak of the run.
// Prints one JSON object on the last line of stdout.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../e2e/harness.mjs';
import { flat } from '../reply.mjs';
import { cdpConnect } from './cdp.mjs';

const EXT_DIR = process.env.MSYNC_EXTENSION_DIR;
const MOCKGW = process.env.MSYNC_MOCKGW;
const CHANNELS = Number(process.env.MSYNC_BENCH_CHANNELS || 500);
const TOKEN = 'sk-bench-memory-0c1d2e3f';
// The run raises msync's speed settings, so the mock does not enforce New API's own admin API
// limit (180 requests / 180 s: `startGateway` turns it off): this measures memory, not waiting.
const GATEWAY_ARGS = ['--flavor', 'new-api', '--channels', String(CHANNELS), '--token', TOKEN];
if (!EXT_DIR || !MOCKGW) throw new Error('set MSYNC_EXTENSION_DIR and MSYNC_MOCKGW (cargo xtask bench does)');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const gw = await startGateway(GATEWAY_ARGS);
  const userDataDir = await mkdtemp(join(tmpdir(), 'msync-bench-mem-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic', '--remote-debugging-port=0',
      '--remote-debugging-address=127.0.0.1',
      `--disable-extensions-except=${EXT_DIR}`, `--load-extension=${EXT_DIR}`, '--lang=en-US',
    ],
  });
  const out = { channels: CHANNELS };
  try {
    const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker', { timeout: 15000 }));
    await sw.evaluate(() => self.msyncStarted);
    const extId = new URL(sw.url()).host;
    const page = await ctx.newPage();
    await page.goto(`chrome-extension://${extId}/popup.html`);
    const cmd = async (c) => flat(await page.evaluate((m) => chrome.runtime.sendMessage(m), c));

    const cdp = await cdpConnect(userDataDir);
    const { targetInfos } = await cdp.send('Target.getTargets');
    const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.startsWith(`chrome-extension://${extId}/`));
    if (!target) throw new Error('service worker target not found');
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
    const footprint = async (gc) => {
      if (gc) await cdp.send('HeapProfiler.collectGarbage', {}, sessionId);
      const heap = await cdp.send('Runtime.getHeapUsage', {}, sessionId);
      const wasm = await cdp.send('Runtime.evaluate',
        { expression: 'self.msyncWasmMemoryBytes()', awaitPromise: true, returnByValue: true }, sessionId);
      const wasmBytes = wasm.result?.value;
      if (typeof wasmBytes !== 'number') throw new Error(`msyncWasmMemoryBytes: ${JSON.stringify(wasm)}`);
      return { jsHeapBytes: heap.usedSize, wasmMemoryBytes: wasmBytes, totalBytes: heap.usedSize + wasmBytes };
    };

    // Idle: started, answered a few pings, nothing else.
    for (let i = 0; i < 3; i++) await cmd('ping');
    await sleep(500);
    out.idle = await footprint(true);

    // A 500-channel run with the widest limits the settings allow (the loopback gateway takes it).
    const saved = await cmd({ save_site: {
      site: { id: 'big', name: 'Big', kind: 'new-api', base_url: gw.url, credentials: { token: TOKEN, user_id: 1 } },
    } });
    if (saved.reply !== 'site') throw new Error(`save_site: ${JSON.stringify(saved)}`);
    const got = await cmd({ get_settings: { site: 'big' } });
    const settings = { ...got.settings, concurrency: 16, rate: { ...got.settings.rate, rpm: 600, burst: 50, site_rpm: 6000, site_burst: 100 } };
    const fast = await cmd({ save_settings: { site: 'big', settings } });
    if (fast.reply !== 'settings') throw new Error(`save_settings: ${JSON.stringify(fast)}`);
    const started = await cmd({ start_run: { site: 'big', selection: 'all' } });
    if (started.reply !== 'run_started') throw new Error(`start_run: ${JSON.stringify(started)}`);
    const t0 = performance.now();
    let peak = { jsHeapBytes: 0, wasmMemoryBytes: 0, totalBytes: 0 };
    let samples = 0;
    let run;
    for (;;) {
      const f = await footprint(false);
      samples += 1;
      if (f.totalBytes > peak.totalBytes) peak = f;
      const r = await cmd({ get_run: { site: 'big', run: started.run } });
      if (r.reply === 'run' && r.head.state !== 'running') {
        run = r;
        break;
      }
      if (performance.now() - t0 > 600000) throw new Error('the run did not finish in 10 minutes');
      await sleep(250);
    }
    out.runMs = performance.now() - t0;
    out.items = run.items.length;
    out.failed = run.items.filter((i) => i.status === 'failed').length;
    out.samples = samples;
    out.peak = peak;
    await sleep(500);
    out.after = await footprint(true);
    if (out.after.totalBytes > out.peak.totalBytes) out.peak = out.after;
    cdp.close();
    await page.close();
  } finally {
    await ctx.close();
    gw.stop();
    await rm(userDataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
