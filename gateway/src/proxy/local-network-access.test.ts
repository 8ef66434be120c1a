import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressSpaceOf, createLocalNetworkGuard, initiatorHost } from './local-network-access.js';

describe('addressSpaceOf', () => {
  it('classes addresses as Local Network Access does', () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1']) assert.equal(addressSpaceOf(address), 'loopback', address);
    for (const address of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '198.18.0.1', 'fd00::2', 'fe80::1', '::ffff:192.168.0.1']) assert.equal(addressSpaceOf(address), 'local', address);
    for (const address of ['8.8.8.8', '172.32.0.1', '192.0.2.2', '2001:db8::1', 'not an address']) assert.equal(addressSpaceOf(address), 'public', address);
  });
});

describe('initiatorHost', () => {
  const url = new URL('http://target.test/x');
  it('reads the page from Origin, then Referer, then Sec-Fetch-Site: same-origin', () => {
    assert.equal(initiatorHost(url, { origin: 'https://evil.test' }), 'evil.test');
    assert.equal(initiatorHost(url, { origin: 'null' }), 'opaque');
    assert.equal(initiatorHost(url, { referer: 'http://page.test/a?b' }), 'page.test');
    assert.equal(initiatorHost(url, { 'sec-fetch-site': 'same-origin' }), 'target.test');
    assert.equal(initiatorHost(url, { 'sec-fetch-site': 'cross-site' }), null);
    // The extension's own pages and worker are the user's, not a site's.
    assert.equal(initiatorHost(url, { origin: 'chrome-extension://abcdefghijklmnop' }), null);
    assert.equal(initiatorHost(url, {}), null);
  });
});

describe('createLocalNetworkGuard', () => {
  // Addresses in 127.0.0.0/8 other than 127.0.0.1 play public sites here.
  const guard = () => createLocalNetworkGuard({ addressSpace: (address) => (address === '127.0.0.1' ? 'loopback' : address.startsWith('127.') ? 'public' : addressSpaceOf(address)) });
  const fetchFrom = (page: string, extra: Record<string, string> = {}) => ({ method: 'GET', headers: { accept: '*/*', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: page, ...extra } });
  const navigation = { method: 'GET', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } };

  it("refuses a public page's request to a loopback or local address, and lets a local page's through", () => {
    const check = guard();
    assert.equal(check('8.8.8.8', { url: 'http://public.test/', ...navigation }), null);
    const refused = check('127.0.0.1', { url: 'http://127.0.0.1:11434/api/tags', ...fetchFrom('http://public.test') });
    assert.equal(refused?.code, 'E_AIPLUGS_LOCAL_NETWORK');
    assert.match(refused?.message ?? '', /public\.test may not reach 127\.0\.0\.1:11434, a loopback address/);
    assert.ok(check('192.168.1.1', { url: 'http://192.168.1.1/', ...fetchFrom('http://public.test') }));
    assert.ok(check('127.0.0.1', { url: 'http://127.0.0.1/', ...fetchFrom('null') }), "an opaque page's CORS read counts as public's");
    assert.ok(check('127.0.0.1', { url: 'http://127.0.0.1/', method: 'POST', headers: { origin: 'null' } }), "and its post");
    // A sandboxed frame's script names no page (Origin: null, no Referer): a blind read, as one that names none.
    assert.equal(check('127.0.0.1', { url: 'http://localhost/app.js', method: 'GET', headers: { origin: 'null', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' } }), null);
    assert.equal(check('127.0.0.1', { url: 'http://127.0.0.1:5000/api/health', ...fetchFrom('chrome-extension://abcdefghijklmnop') }), null);
    // Over plain HTTP the browser sends no fetch metadata: an opaque page's CORS read or socket looks like its script, so neither is blind (helper-81).
    assert.ok(check('192.168.1.1', { url: 'http://192.168.1.1/api', method: 'GET', headers: { origin: 'null' } }));
    assert.ok(check('127.0.0.1', { url: 'http://localtest.me:4455/', method: 'GET', headers: { origin: 'null', upgrade: 'websocket' } }));
    // A frame's navigation is its page's request: a hidden frame posting to the router is refused; the page's own top-level one is not.
    const frame = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe', accept: 'text/html', referer: 'http://public.test/' };
    assert.ok(check('192.168.1.1', { url: 'http://192.168.1.1/apply.cgi', method: 'POST', headers: { ...frame, origin: 'http://public.test' } }));
    assert.ok(check('192.168.1.1', { url: 'http://192.168.1.1/', method: 'GET', headers: frame }));
    assert.equal(check('192.168.1.1', { url: 'http://192.168.1.1/', method: 'GET', headers: { ...frame, 'sec-fetch-dest': 'document' } }), null);
    // A page of this machine or the local network may, as may a page of a name that is this machine.
    assert.equal(check('127.0.0.1', { url: 'http://127.0.0.1/', ...fetchFrom('http://127.0.0.1:3000') }), null);
    assert.equal(check('127.0.0.1', { url: 'http://127.0.0.1/', ...fetchFrom('http://app.localhost') }), null);
    assert.equal(check('192.168.1.1', { url: 'http://192.168.1.1/', ...fetchFrom('http://192.168.1.9') }), null);
    assert.ok(check('127.0.0.1', { url: 'http://127.0.0.1/', ...fetchFrom('http://192.168.1.9') }), 'local may not reach loopback');
    // To a public address, anything goes; a navigation to any address is the user's.
    assert.equal(check('8.8.4.4', { url: 'http://other.test/', ...fetchFrom('http://public.test') }), null);
    assert.equal(check('127.0.0.1', { url: 'http://127.0.0.1/', method: 'GET', headers: { ...navigation.headers, referer: 'http://public.test/' } }), null);
  });

  it('an unknown page name is public; a page whose document came from a local address is local', () => {
    const check = guard();
    assert.ok(check('192.168.1.5', { url: 'http://nas.home/api', ...fetchFrom('http://portal.home') }));
    assert.equal(check('192.168.1.4', { url: 'http://portal.home/', ...navigation }), null);
    assert.equal(check('192.168.1.5', { url: 'http://nas.home/api', ...fetchFrom('http://portal.home') }), null);
    // Its own host, with no document seen (a tab restored before the gateway started): the target's space.
    assert.equal(check('192.168.1.5', { url: 'http://nas.home/api', method: 'GET', headers: { referer: 'http://nas.home/' } }), null);
  });

  it('a name rebound to a local address keeps the space its documents came from, told by the page or not', () => {
    const check = guard();
    assert.equal(check('127.0.0.9', { url: 'http://rebind.test:8080/', ...navigation }), null);
    const sameOrigin = { method: 'GET', headers: { accept: '*/*', referer: 'http://rebind.test:8080/' } };
    assert.ok(check('127.0.0.1', { url: 'http://rebind.test:8080/api', ...sameOrigin }));
    assert.ok(check('127.0.0.1', { url: 'http://rebind.test:8080/api', method: 'GET', headers: { accept: '*/*' } }), 'no Referer either');
    // A navigation to the rebound name later does not make its earlier documents local; a frame's teaches nothing.
    check('127.0.0.1', { url: 'http://rebind.test:8080/', ...navigation });
    assert.ok(check('127.0.0.1', { url: 'http://rebind.test:8080/api', ...sameOrigin }));
    check('127.0.0.1', { url: 'http://other.test/', method: 'GET', headers: { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' } });
    assert.ok(check('192.168.0.1', { url: 'http://x.test/', ...fetchFrom('http://other.test') }));
  });

  it("lets the pages the user listed reach local addresses (proxy.local_network_sites), and no others", () => {
    const check = createLocalNetworkGuard({ allowedPages: ['app.plex.tv', '*.corp.example'] });
    assert.equal(check('192.168.1.5', { url: 'https://192-168-1-5.abc.plex.direct:32400/', ...fetchFrom('https://app.plex.tv') }), null);
    assert.equal(check('10.0.0.7', { url: 'https://api.corp.example/', ...fetchFrom('https://portal.corp.example') }), null);
    assert.ok(check('10.0.0.7', { url: 'https://api.corp.example/', ...fetchFrom('https://evil.test') }));
    assert.ok(check('127.0.0.1', { url: 'http://127.0.0.1/', ...fetchFrom('null') }), 'an opaque page names no host to allow');
  });

  it('lets a request that tells nothing through to a name it knows nothing of (a local program)', () => {
    assert.equal(guard()('127.0.0.1', { url: 'http://127.0.0.1:9/', method: 'GET', headers: { accept: '*/*', 'user-agent': 'curl/8' } }), null);
  });
});
