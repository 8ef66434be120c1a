import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chromiumArgs } from './browser-args.js';
import { browserCandidates } from './find-browser.js';

describe('chromiumArgs', () => {
  it('wires a temporary profile to the gateway: proxy (loopback too), SPKI, quiet start, URL last', () => {
    const args = chromiumArgs({ profileDir: '/tmp/p', proxyUrl: 'http://127.0.0.1:8080', caSpki: 'abc=', url: 'https://example.com/' });
    assert.deepEqual(args.slice(0, 4), ['--user-data-dir=/tmp/p', '--proxy-server=http://127.0.0.1:8080', '--proxy-bypass-list=<-loopback>', '--ignore-certificate-errors-spki-list=abc=']);
    assert.equal(args.at(-1), 'https://example.com/');
    assert.ok(!args.some((arg) => arg.includes('load-extension')));
    assert.ok(!args.includes('--no-sandbox'));
  });

  it('keeps the gateway API itself off the proxy', () => {
    const args = chromiumArgs({ profileDir: '/p', proxyUrl: 'http://127.0.0.1:8080', caSpki: 'x', bypass: ['127.0.0.1:5000'] });
    assert.ok(args.includes('--proxy-bypass-list=<-loopback>;127.0.0.1:5000'));
  });

  it('loads the extension with both flags, and can run headless without a sandbox', () => {
    const args = chromiumArgs({ profileDir: '/p', proxyUrl: 'http://127.0.0.1:1', caSpki: 'x', extensionDir: '/ext', headless: true, noSandbox: true });
    assert.ok(args.includes('--load-extension=/ext'));
    assert.ok(args.includes('--disable-extensions-except=/ext'));
    assert.ok(args.includes('--headless'));
    assert.ok(args.includes('--no-sandbox'));
    assert.equal(args.at(-1), 'about:blank');
  });
});

describe('browserCandidates', () => {
  it('prefers Chromium, then Chrome and Edge, on every OS', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      assert.deepEqual(browserCandidates(platform, { HOME: '/h', LOCALAPPDATA: 'C:\\L', PROGRAMFILES: 'C:\\P' }).map((c) => c.name).slice(0, 3), ['Chromium', 'Google Chrome', 'Microsoft Edge']);
    }
    const mac = browserCandidates('darwin', { HOME: '/Users/a' });
    assert.ok(mac[1]?.paths?.includes('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'));
    const win = browserCandidates('win32', { PROGRAMFILES: 'C:\\Program Files' });
    assert.ok(win[2]?.paths?.some((path) => path.endsWith('msedge.exe')));
  });
});
