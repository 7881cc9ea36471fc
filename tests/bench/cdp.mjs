// A minimal Chrome DevTools Protocol client for the benchmarks (Node's global WebSocket, so
// `node --experimental-websocket`): what playwright-core does not expose for extension workers.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A minimal CDP client over the browser's WebSocket endpoint (Node's global WebSocket). */
export async function cdpConnect(userDataDir) {
  let text = '';
  for (let i = 0; i < 100 && !text; i++) {
    text = await readFile(join(userDataDir, 'DevToolsActivePort'), 'utf8').catch(() => '');
    if (!text) await new Promise((r) => setTimeout(r, 100));
  }
  const [port, path] = text.trim().split('\n');
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    const p = pending.get(msg.id);
    if (p) {
      pending.delete(msg.id);
      msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result);
    }
  };
  return {
    send(method, params = {}, sessionId) {
      const msg = { id: ++id, method, params };
      if (sessionId) msg.sessionId = sessionId;
      ws.send(JSON.stringify(msg));
      return new Promise((resolve, reject) => pending.set(msg.id, { resolve, reject }));
    },
    close() { ws.close(); },
  };
}
