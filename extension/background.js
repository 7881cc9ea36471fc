// msync service worker (MV3 module worker). Listeners must be registered synchronously on the
// first turn, and service workers allow no top-level await: keep init() as a promise and
// forward every event into Rust once it resolves.
import init, { on_startup, on_alarm, on_message } from './worker/msync_worker.js';

const ready = init({ module_or_path: new URL('./worker/msync_worker_bg.wasm', import.meta.url) });

chrome.alarms.onAlarm.addListener((alarm) => {
  ready.then(() => on_alarm(alarm.name)).catch((e) => console.error('msync: alarm failed', e));
});

/** Only the extension's own pages (options, popup) may send commands: never a content script
 *  or another extension (the worker answers secrets to an export with `include_secrets`). */
function fromOwnPage(sender) {
  return sender?.id === chrome.runtime.id
    && typeof sender.url === 'string'
    && sender.url.startsWith(chrome.runtime.getURL(''));
}

// These are `Reply::Error` in its wire form, `{ error: { class, message } }`
// (crates/types/src/protocol.rs); `class` is an `ErrorClass` (crates/types/src/error.rs,
// snake_case), and a class the enum lacks would not parse (a test in protocol.rs reads these
// literals).
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!fromOwnPage(sender)) {
    sendResponse({ error: { class: 'permission', message: 'msync only answers its own pages' } });
    return false;
  }
  ready
    .then(() => on_message(message))
    .then(sendResponse, (e) => sendResponse({ error: { class: 'internal', message: String(e) } }));
  return true; // answer asynchronously
});

// Exposed for tests and diagnostics: resolves with the stored meta record once Rust has started.
self.msyncStarted = ready.then(() => on_startup());
self.msyncStarted.catch((e) => console.error('msync: startup failed', e));

// Diagnostics for `cargo xtask bench` (read over CDP): the size of the wasm module's linear
// memory, which the worker's JS heap figures do not include.
self.msyncWasmMemoryBytes = () => ready.then((wasm) => wasm.memory.buffer.byteLength);
