import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerValue, isDocumentRequest, isFrameNavigation, isInjectableResponse, mayPrefetchDocument } from './document-request.js';

const navigate = { 'Sec-Fetch-Dest': 'document', 'Sec-Fetch-Mode': 'navigate', Accept: 'text/html' };

describe('headerValue', () => {
  it('finds a header whatever the case of its name, and joins repeated values', () => {
    assert.equal(headerValue({ 'content-type': 'text/html' }, 'Content-Type'), 'text/html');
    assert.equal(headerValue({ 'Content-Type': 'text/html' }, 'content-type'), 'text/html');
    assert.equal(headerValue({ 'x-a': 'one', 'X-B': ['two', 'three'] }, 'x-b'), 'two, three');
    assert.equal(headerValue({ 'set-cookie': ['a=1'] }, 'Set-Cookie'), 'a=1');
  });

  it('finds nothing for an absent header, a name only the prototype has, or one set to undefined', () => {
    assert.equal(headerValue({ accept: 'text/html' }, 'content-type'), undefined);
    assert.equal(headerValue({}, 'constructor'), undefined);
    assert.equal(headerValue({ accept: 'text/html' }, '__proto__'), undefined);
    assert.equal(headerValue({ upgrade: undefined }, 'upgrade'), undefined);
  });
});

describe('isFrameNavigation', () => {
  it('counts the elements whose document is a frame, by fetch metadata alone', () => {
    for (const dest of ['iframe', 'frame', 'object', 'embed', 'IFrame']) assert.equal(isFrameNavigation({ 'sec-fetch-dest': dest }), true, dest);
    for (const dest of ['document', 'empty']) assert.equal(isFrameNavigation({ 'sec-fetch-dest': dest }), false, dest);
    assert.equal(isFrameNavigation({ accept: 'text/html' }), false);
  });
});

describe('isDocumentRequest', () => {
  it('accepts navigations to documents and frames', () => {
    assert.equal(isDocumentRequest('GET', navigate), true);
    assert.equal(isDocumentRequest('GET', { ...navigate, 'Sec-Fetch-Dest': 'iframe' }), true);
    assert.equal(isDocumentRequest('GET', { 'sec-fetch-dest': 'frame', 'sec-fetch-mode': 'navigate' }), true);
    assert.equal(isDocumentRequest('GET', { 'sec-fetch-dest': 'object', 'sec-fetch-mode': 'navigate' }), true);
    assert.equal(isDocumentRequest('GET', { 'sec-fetch-dest': 'embed', 'sec-fetch-mode': 'navigate' }), true);
    // A plugin element's image or PDF has the same destination, in no-cors mode when it is no navigation.
    assert.equal(isDocumentRequest('GET', { 'sec-fetch-dest': 'object', 'sec-fetch-mode': 'no-cors' }), false);
  });

  it("accepts a navigation a site's service worker fetches on (navigate mode, no destination)", () => {
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'navigate', Accept: 'text/html' }), true);
    assert.equal(isDocumentRequest('POST', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'navigate', Accept: 'text/html,application/xhtml+xml' }), true);
    // A download (<a download>, "Save link as"): navigate mode, no destination, and no Accept (Chromium 156; helper-78).
    assert.equal(isDocumentRequest('GET', { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'empty', referer: 'http://a.test/' }), false);
  });

  it('accepts a form POST navigation, with fetch metadata or as a browser sends it without (plain HTTP); never a POST from no page', () => {
    assert.equal(isDocumentRequest('POST', navigate), true);
    assert.equal(isDocumentRequest('POST', { Accept: 'text/html', 'Upgrade-Insecure-Requests': '1', Origin: 'http://a.test' }), true);
    assert.equal(isDocumentRequest('POST', { Accept: 'text/html' }), false);
    assert.equal(isDocumentRequest('POST', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'cors', Accept: 'text/html' }), false);
  });

  it('rejects fetch/XHR, CORS, no-cors, images, scripts, workers, HEAD, PUT and the like', () => {
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'cors', Accept: 'text/html' }), false);
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'no-cors' }), false);
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'image', 'Sec-Fetch-Mode': 'no-cors' }), false);
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'script', 'Sec-Fetch-Mode': 'no-cors' }), false);
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'document', 'Sec-Fetch-Mode': 'cors' }), false);
    assert.equal(isDocumentRequest('GET', { 'Sec-Fetch-Dest': 'websocket', 'Sec-Fetch-Mode': 'websocket' }), false);
    assert.equal(isDocumentRequest('HEAD', navigate), false);
    assert.equal(isDocumentRequest('PUT', navigate), false);
  });

  it('falls back to Accept when there is no fetch metadata (plain HTTP, curl, old browsers)', () => {
    assert.equal(isDocumentRequest('GET', { Accept: 'text/html,application/xhtml+xml;q=0.9' }), true);
    assert.equal(isDocumentRequest('GET', { Accept: '*/*' }), false);
    assert.equal(isDocumentRequest('GET', {}), false);
    assert.equal(isDocumentRequest('GET', { Accept: 'text/html', 'X-Requested-With': 'XMLHttpRequest' }), false);
    assert.equal(isDocumentRequest('GET', { Accept: 'text/html', Upgrade: 'websocket' }), false);
  });

  it("without fetch metadata, tells a browser's navigation from a page script's request by Upgrade-Insecure-Requests", () => {
    const fromPage = { Accept: 'text/html', Referer: 'http://site.example/' };
    assert.equal(isDocumentRequest('GET', { ...fromPage, 'Upgrade-Insecure-Requests': '1' }), true);
    assert.equal(isDocumentRequest('GET', fromPage), false);
    assert.equal(isDocumentRequest('GET', { Accept: 'text/html', Origin: 'http://site.example' }), false);
  });
});

describe('mayPrefetchDocument', () => {
  it('takes GETs that fetch for a script or a prefetch, and GETs without fetch metadata that are not navigations', () => {
    assert.equal(mayPrefetchDocument('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'cors' }), true);
    assert.equal(mayPrefetchDocument('GET', { 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'no-cors', 'sec-purpose': 'prefetch' }), true);
    assert.equal(mayPrefetchDocument('GET', { Accept: 'text/html', Referer: 'http://site.example/' }), true);
    assert.equal(mayPrefetchDocument('GET', {}), true);
    // A download is passed through as the site sent it.
    assert.equal(mayPrefetchDocument('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'navigate' }), true);
  });

  it('leaves navigations, sub-resources of other kinds and other methods to the other rules', () => {
    assert.equal(mayPrefetchDocument('GET', navigate), false);
    assert.equal(mayPrefetchDocument('GET', { 'Sec-Fetch-Dest': 'empty', 'Sec-Fetch-Mode': 'navigate', Accept: 'text/html' }), false);
    assert.equal(mayPrefetchDocument('GET', { Accept: 'text/html', 'Upgrade-Insecure-Requests': '1' }), false);
    for (const dest of ['image', 'script', 'style', 'font', 'iframe', 'document']) assert.equal(mayPrefetchDocument('GET', { 'Sec-Fetch-Dest': dest, 'Sec-Fetch-Mode': 'no-cors' }), false, dest);
    assert.equal(mayPrefetchDocument('POST', { 'Sec-Fetch-Dest': 'empty' }), false);
  });
});

describe('isInjectableResponse', () => {
  it('accepts 2xx HTML and XHTML', () => {
    assert.equal(isInjectableResponse(200, { 'content-type': 'text/html; charset=utf-8' }), true);
    assert.equal(isInjectableResponse(203, { 'content-type': 'application/xhtml+xml' }), true);
  });

  it('rejects other types, other statuses and downloads', () => {
    assert.equal(isInjectableResponse(200, { 'content-type': 'application/json' }), false);
    assert.equal(isInjectableResponse(200, { 'content-type': 'image/png' }), false);
    assert.equal(isInjectableResponse(204, { 'content-type': 'text/html' }), false);
    assert.equal(isInjectableResponse(206, { 'content-type': 'text/html' }), false);
    assert.equal(isInjectableResponse(304, { 'content-type': 'text/html' }), false);
    assert.equal(isInjectableResponse(404, { 'content-type': 'text/html' }), false);
    assert.equal(isInjectableResponse(302, { 'content-type': 'text/html' }), false);
    assert.equal(isInjectableResponse(200, { 'content-type': 'text/html', 'content-disposition': 'attachment; filename=a.html' }), false);
  });

  // Chromium 156 shows each of these as HTML when the body starts like HTML (html-sniffing.ts), and as text with nosniff.
  it('leaves a response with no type, or one a browser takes as none, to its first bytes, unless sniffing is forbidden', () => {
    for (const type of [undefined, '', 'garbage', 'unknown/unknown', 'Application/Unknown', '*/*']) {
      const headers = type === undefined ? {} : { 'content-type': type };
      assert.equal(isInjectableResponse(200, headers), true, type);
      assert.equal(isInjectableResponse(200, { ...headers, 'x-content-type-options': 'nosniff' }), false, type);
      assert.equal(isInjectableResponse(200, { ...headers, 'X-Content-Type-Options': 'NoSniff, other' }), false, type);
      assert.equal(isInjectableResponse(404, headers), false, type);
    }
    assert.equal(isInjectableResponse(200, { 'x-content-type-options': 'other, nosniff' }), true);
    for (const type of ['text/plain', 'application/octet-stream', 'foo/bar', 'text/xml']) assert.equal(isInjectableResponse(200, { 'content-type': type }), false, type);
  });
});
