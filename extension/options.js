import init, { mount_options } from './msync-ui.js';
init({ module_or_path: new URL('./msync-ui_bg.wasm', import.meta.url) }).then(() => mount_options());
