// Launch Debian's Firefox ESR headless with the Firefox package installed as a temporary add-on,
// driven by puppeteer-core over WebDriver BiDi (no geckodriver, no downloaded browser).
//
// * The add-on goes in through BiDi `webExtension.install` (puppeteer's `installExtension`),
//   from the unpacked `dist/extension-firefox/` exactly as shipped.
// * Its pages live at `moz-extension://<uuid>/`; the uuid is fixed through the
//   `extensions.webextensions.uuids` pref so the test knows the address.
// * BiDi refuses to navigate to `moz-extension:` unless Firefox runs with
//   `-remote-allow-system-access`, and puppeteer's `goto` waits for navigation events Firefox does
//   not send for extension documents: `open()` navigates through BiDi `browsingContext.navigate`
//   with `wait: "complete"` instead.
// * Host permissions: the package only has `optional_host_permissions`; the options page asks
//   for the gateway's host (`http://127.0.0.1/*`) from the Save click (`permissions.request`). With
//   `extensions.webextOptionalPermissionPrompts = false` Firefox grants that request without the
//   doorhanger a headless browser cannot click — the same code path as a user saying yes.
// * Network: a fresh profile; Firefox's own background traffic is switched off by prefs, and
//   everything not addressed to 127.0.0.1 goes to a local sink proxy that answers nothing and
//   records what was attempted (`outside()`), so the test can prove it stayed on loopback.
import puppeteer from 'puppeteer-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';

export const FIREFOX_EXT_DIR = process.env.MSYNC_FIREFOX_EXTENSION_DIR;
export const ADDON_ID = 'msync@msync.dev';
const UUID = '6d7a3c1e-5b0f-4e29-9a61-8f2d4c0b7e15';
export const ORIGIN = `moz-extension://${UUID}`;

if (!FIREFOX_EXT_DIR) {
  throw new Error('run through `cargo xtask e2e` (MSYNC_FIREFOX_EXTENSION_DIR is not set)');
}

/** An HTTP proxy on 127.0.0.1 that refuses everything and remembers the hosts asked for. */
async function sinkProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url);
    res.writeHead(502).end();
  });
  server.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, seen, close: () => server.close() };
}

function prefs(proxyPort, locale) {
  return {
    // The add-on's fixed address, and optional permissions granted without a prompt.
    'extensions.webextensions.uuids': JSON.stringify({ [ADDON_ID]: UUID }),
    'extensions.webextOptionalPermissionPrompts': false,
    // Page language (navigator.language) and the UI's own locale.
    'intl.accept_languages': locale,
    'intl.locale.requested': locale,
    'layout.css.prefers-color-scheme.content-override': 1, // light
    // Everything not on loopback goes to the sink; loopback is never proxied.
    // Remote settings: no sync at all (accepted because of MOZ_DISABLE_NONLOCAL_CONNECTIONS).
    'services.settings.server': 'data:,#remote-settings-dummy/v1',
    'network.proxy.type': 1,
    'network.proxy.http': '127.0.0.1',
    'network.proxy.http_port': proxyPort,
    'network.proxy.ssl': '127.0.0.1',
    'network.proxy.ssl_port': proxyPort,
    'network.proxy.share_proxy_settings': true,
    'network.proxy.allow_hijacking_localhost': false,
    'network.proxy.no_proxies_on': '',
    'network.trr.mode': 5,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'network.predictor.enabled': false,
    'network.http.speculative-parallel-limit': 0,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'captivedetect.canonicalURL': '',
    // Updates, telemetry, studies, remote settings, safe browsing, push, region, ML models.
    'app.update.auto': false,
    'app.normandy.enabled': false,
    'app.shield.optoutstudies.enabled': false,
    'messaging-system.rsexperimentloader.enabled': false,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.archive.enabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'browser.ping-centre.telemetry': false,
    'extensions.blocklist.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'extensions.systemAddon.update.enabled': false,
    'extensions.update.enabled': false,
    'security.remote_settings.crlite_filters.enabled': false,
    'security.remote_settings.intermediates.enabled': false,
    'security.OCSP.enabled': 0,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.blockedURIs.enabled': false,
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'browser.safebrowsing.provider.google4.updateURL': '',
    'browser.safebrowsing.provider.google.updateURL': '',
    'dom.push.connection.enabled': false,
    'dom.push.serverURL': '',
    'browser.region.network.url': '',
    'browser.region.update.enabled': false,
    'geo.provider.network.url': '',
    'browser.search.update': false,
    'browser.topsites.contile.enabled': false,
    'browser.newtabpage.activity-stream.feeds.topsites': false,
    'browser.newtabpage.activity-stream.feeds.system.topstories': false,
    'browser.newtabpage.activity-stream.telemetry': false,
    'browser.urlbar.quicksuggest.enabled': false,
    'browser.translations.enable': false,
    'browser.ml.enable': false,
    'browser.discovery.enabled': false,
    'media.gmp-manager.updateEnabled': false,
    'media.gmp-gmpopenh264.enabled': false,
    'signon.management.page.breach-alerts.enabled': false,
    'doh-rollout.disable-heuristics': true,
  };
}

/**
 * Firefox with the add-on installed and its background page started (Rust's `on_startup` done).
 * `locale`: the browser's language (`en-US`, `zh-CN`).
 */
export async function launchFirefox({ locale = 'en-US' } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'msync-e2e-ff-'));
  const sink = await sinkProxy();
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
      headless: true,
      userDataDir: profile,
      args: ['-remote-allow-system-access', '-no-remote'],
      // Firefox's test switch: sockets to anything but loopback are refused; it also lets the
      // remote-settings server pref above take effect in a release build.
      env: { ...process.env, MOZ_DISABLE_NONLOCAL_CONNECTIONS: '1' },
      extraPrefsFirefox: prefs(sink.port, locale),
      defaultViewport: { width: 1280, height: 800 },
    });
    const id = await browser.installExtension(FIREFOX_EXT_DIR);
    if (id !== ADDON_ID) throw new Error(`installed add-on id ${id}, expected ${ADDON_ID}`);
  } catch (e) {
    await browser?.close();
    sink.close();
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const ff = {
    browser,
    url: (page) => `${ORIGIN}/${page}`,
    /** A new tab showing an extension page (`options.html`, `popup.html#x`). */
    async open(page, { width = 1280, height = 800 } = {}) {
      const tab = await browser.newPage();
      await tab.setViewport({ width, height });
      await ff.goto(tab, page);
      return tab;
    },
    async goto(tab, page) {
      // See the header: BiDi navigate, waiting for the document's load.
      await tab.mainFrame().browsingContext.navigate(ff.url(page), 'complete');
      await tab.waitForFunction((o) => location.origin === o && document.readyState === 'complete',
        { timeout: 15000 }, ORIGIN);
    },
    /** What Firefox tried to reach off loopback (through the sink proxy). */
    outside: () => [...sink.seen],
    version: () => browser.version(),
    async close() {
      await browser.close();
      sink.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
  // The background page has started once Rust's on_startup resolved (background.js keeps the
  // promise as `msyncStarted`); an extension page reaches it through getBackgroundPage().
  const probe = await ff.open('popup.html');
  try {
    await probe.evaluate(async () => {
      const bg = await browser.runtime.getBackgroundPage();
      await bg.msyncStarted;
    });
  } finally {
    await probe.close();
  }
  return ff;
}

export async function screenshotFirefox(page, artifacts, name) {
  await mkdir(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
