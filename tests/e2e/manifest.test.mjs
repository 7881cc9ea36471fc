// Permissions, CSP and store requirements of the built packages (dist/extension and
// dist/extension-firefox, as shipped: not the loopback test variant), and `web-ext lint` on the
// Firefox package. Fails on anything broader than the extension needs.
//
// Runs with the other end-to-end tests (`cargo xtask e2e`, `cargo xtask test`, both build dist/
// first). MSYNC_DIST overrides the dist directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const dist = process.env.MSYNC_DIST ?? path.join(root, 'dist');
const packages = [
  { name: 'chrome', dir: path.join(dist, 'extension') },
  { name: 'firefox', dir: path.join(dist, 'extension-firefox') },
];

// unlimitedStorage: history is kept per site, so several sites outgrow the 10 MB quota of
// chrome.storage.local (docs/reliability.md).
const ALLOWED_PERMISSIONS = new Set(['storage', 'unlimitedStorage', 'alarms', 'notifications']);
const CSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";
const ICON_SIZES = ['16', '32', '48', '128'];

function load(dir) {
  const file = path.join(dir, 'manifest.json');
  assert.ok(existsSync(file), `${file} is missing: build it with \`cargo xtask dist\``);
  return JSON.parse(readFileSync(file, 'utf8'));
}

function assertFile(dir, rel, what) {
  const file = path.join(dir, rel);
  assert.ok(existsSync(file) && statSync(file).isFile() && statSync(file).size > 0,
    `${what}: ${rel} is not a non-empty file in ${dir}`);
}

/** `__MSG_key__` → the locale's (default: the default locale's) message; else unchanged. */
function localized(dir, manifest, value, wanted) {
  const m = /^__MSG_(\w+)__$/.exec(value ?? '');
  if (!m) return value;
  const locale = wanted ?? manifest.default_locale;
  assert.ok(locale, `${value} needs default_locale`);
  const file = path.join(dir, '_locales', locale, 'messages.json');
  const messages = JSON.parse(readFileSync(file, 'utf8'));
  const entry = Object.entries(messages).find(([k]) => k.toLowerCase() === m[1].toLowerCase());
  assert.ok(entry, `${m[1]} is not in ${file}`);
  return entry[1].message;
}

for (const { name, dir } of packages) {
  test(`${name}: permissions are the least the extension needs`, () => {
    const m = load(dir);
    for (const p of m.permissions ?? []) {
      assert.ok(ALLOWED_PERMISSIONS.has(p), `${name}: permission ${JSON.stringify(p)} is not allowed`);
    }
    assert.ok(!('host_permissions' in m) || m.host_permissions.length === 0,
      `${name}: host_permissions must be absent (hosts are optional, granted per site): ${JSON.stringify(m.host_permissions)}`);
    assert.ok(!JSON.stringify(m).includes('<all_urls>'), `${name}: <all_urls> in the manifest`);
    // Nothing outside the extension's own pages may talk to the worker (it answers secrets to
    // `export_settings {include_secrets}`); background.js also checks each message's sender.
    for (const key of ['content_scripts', 'externally_connectable', 'web_accessible_resources']) {
      assert.ok(!(key in m), `${name}: ${key} must stay absent (it would let web pages reach the worker)`);
    }
    for (const p of m.optional_host_permissions ?? []) {
      assert.match(p, /^https?:\/\/[^/]+\/.*$/, `${name}: optional host permission ${p} is not an http(s) pattern`);
    }
    for (const key of ['content_scripts', 'externally_connectable', 'web_accessible_resources',
      'optional_permissions', 'chrome_url_overrides', 'devtools_page']) {
      assert.ok(!(key in m), `${name}: unexpected ${key}`);
    }
  });

  test(`${name}: content security policy`, () => {
    const m = load(dir);
    assert.equal(m.manifest_version, 3, `${name}: not MV3`);
    const csp = m.content_security_policy;
    assert.ok(csp && typeof csp === 'object', `${name}: no content_security_policy`);
    assert.deepEqual(Object.keys(csp), ['extension_pages'], `${name}: CSP keys`);
    assert.equal(csp.extension_pages, CSP, `${name}: CSP extension_pages`);
  });

  test(`${name}: store requirements (icons, description, version, files)`, () => {
    const m = load(dir);
    for (const size of ICON_SIZES) {
      assert.ok(m.icons?.[size], `${name}: no ${size}px icon`);
      assertFile(dir, m.icons[size], `icon ${size}`);
    }
    for (const rel of Object.values(m.action?.default_icon ?? {})) assertFile(dir, rel, 'action icon');
    // The Chrome Web Store's limits: description ≤ 132 characters, name ≤ 75, in every locale.
    const locales = existsSync(path.join(dir, '_locales'))
      ? readdirSync(path.join(dir, '_locales')) : [undefined];
    for (const locale of locales) {
      const description = localized(dir, m, m.description, locale);
      assert.ok(description && description.trim().length > 0, `${name} ${locale}: no description`);
      assert.ok(description.length <= 132,
        `${name} ${locale}: description of ${description.length} characters (at most 132)`);
      const title = localized(dir, m, m.name, locale);
      assert.ok(title && title.trim().length > 0 && title.length <= 75, `${name} ${locale}: name`);
    }
    assert.match(m.version ?? '', /^\d+(\.\d+){0,3}$/, `${name}: version`);
    if (m.action?.default_popup) assertFile(dir, m.action.default_popup, 'popup');
    if (m.options_ui?.page) assertFile(dir, m.options_ui.page, 'options page');
    if (name === 'chrome') {
      assertFile(dir, m.background?.service_worker ?? '', 'service worker');
    } else {
      assert.ok(m.background?.scripts?.length > 0, 'firefox: background.scripts');
      for (const s of m.background.scripts) assertFile(dir, s, 'background script');
      assert.ok(m.browser_specific_settings?.gecko?.id, 'firefox: gecko id');
    }
  });
}

// Warnings accepted for now, each with its reason; anything else fails.
const ACCEPTED_WARNINGS = {
  // Firefox asks new add-ons to declare data collection; the key is only understood from
  // Firefox 140 and the package supports 128 (adding it trades this warning for two others).
  MISSING_DATA_COLLECTION_PERMISSIONS: () => true,
  // wasm-bindgen's import shim for web-sys `Element::set_inner_html` (used by Leptos), not ours.
  UNSAFE_VAR_ASSIGNMENT: (w) => w.file === 'msync-ui.js',
};

test('firefox: web-ext lint', { timeout: 180_000 }, (t) => {
  const dir = packages[1].dir;
  load(dir);
  const bin = path.join(root, 'node_modules/.bin/web-ext');
  if (!existsSync(bin)) {
    t.skip('web-ext is not installed (npm ci)');
    return;
  }
  const started = Date.now();
  const run = spawnSync(bin, ['lint', '--source-dir', dir, '--output', 'json', '--no-config-discovery'],
    { encoding: 'utf8', timeout: 170_000, env: { ...process.env, WEB_EXT_NO_INPUT: '1' } });
  assert.ok(run.stdout, `web-ext lint printed nothing: ${run.stderr}`);
  const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
  const fmt = (x) => `${x.code} ${x.file ?? ''}:${x.line ?? ''} ${x.message}`;
  t.diagnostic(`web-ext lint: ${JSON.stringify(report.summary)} in ${Date.now() - started} ms`);
  for (const w of report.warnings) t.diagnostic(`warning: ${fmt(w)}`);
  assert.deepEqual(report.errors.map(fmt), [], 'web-ext lint errors');
  const unexpected = report.warnings.filter((w) => !ACCEPTED_WARNINGS[w.code]?.(w));
  assert.deepEqual(unexpected.map(fmt), [], 'web-ext lint warnings');
});
