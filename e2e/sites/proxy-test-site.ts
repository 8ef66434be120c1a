import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { respond, startTestSite, type Handler, type TestSite } from '../support/test-site.js';
import { reactSsrRoutes } from './react-ssr-page.js';

export const JSON_BODY = '{"ok":true,"text":"caf\u00e9 \u2603","n":[1,2,3]}';
export const HTML_FRAGMENT = '<!doctype html><html><head><title>fragment</title></head><body>fragment</body></html>';

/** Texts in other scripts, and the charsets their test pages are encoded in. */
export const ENCODED_PAGES = {
  'euc-kr': '\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4',
  shift_jis: '\u30c6\u30b9\u30c8\u306e\u30da\u30fc\u30b8\u3067\u3059',
  gbk: '\u4e2d\u6587\u6d4b\u8bd5\u9875\u9762',
  'iso-8859-1': 'Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e',
} as const;

/** Non-ASCII text on a page whose only charset declaration is a `<meta charset>` near byte 800. */
export const LATE_META_CHARSET_TEXT = 'Gr\u00fc\u00dfe aus K\u00f6ln \u2014 caf\u00e9 \u2603 \u65e5\u672c\u8a9e';

/**
 * The page for LATE_META_CHARSET_TEXT, served as plain `text/html`. Its meta sits after `</head>`
 * (it still lands in the head): Chromium looks for a charset past the first 1,024 bytes only while
 * it has seen nothing but head tags, so pushed out of those bytes the meta is never found.
 */
export function lateMetaCharsetPage(): Buffer {
  const before = '<!doctype html><html><head><title>late charset</title><meta name="description" content="';
  const after = '"></head>\n';
  const padding = 'a'.repeat(800 - before.length - after.length);
  return Buffer.from(`${before}${padding}${after}<meta charset="utf-8">\n<body><p id="text">${LATE_META_CHARSET_TEXT}</p><script src="/app.js"></script></body></html>`, 'utf8');
}

/**
 * The same text on a page whose `<meta charset>` comes after an image (a tracking pixel) has started the body:
 * browsers take it all the same, since it starts in the first 1,024 bytes.
 */
export function bodyMetaCharsetPage(): Buffer {
  return Buffer.from(`<!doctype html><html><head><title>body charset</title></head>\n<img alt="" width="1" height="1"><meta charset="utf-8">\n<p id="text">${LATE_META_CHARSET_TEXT}</p><script src="/app.js"></script></html>`, 'utf8');
}

export function encodedPage(charset: keyof typeof ENCODED_PAGES): Buffer {
  const text = ENCODED_PAGES[charset];
  return iconv.encode(`<!DOCTYPE html>\n<html>\n<head>\n<meta charset="${charset}">\n<title>${text}</title>\n</head>\n<body><p id="text">${text}</p><script src="/app.js"></script></body>\n</html>\n`, charset);
}

const html = (headers: Record<string, string>, body: string | Buffer): Handler => respond(200, { 'content-type': 'text/html; charset=utf-8', ...headers }, body);
const page = (title: string, head = '', body = '') =>
  `<!doctype html><html><head><title>${title}</title>${head}<script src="/app.js"></script></head><body><h1>${title}</h1>${body}</body></html>`;

/** Plans for `__aiplugsRuntime.reconcile`, as the extension sends them: ping alone, and marker's document_end file. */
const PING = { id: 'ping' };
const MARKER_AGAIN = { id: 'marker', scripts: [{ run_at: 'document_end', js: [{ file: 'end.js', path: '/api/plugins/marker/files/end.js' }] }] };

/**
 * A page that reconciles its plugins to each plan in turn, from a script in its head or at its
 * body's start, then fires a DOMContentLoaded of its own (which must not end the runtime's watch).
 */
const reconcilingPage = (where: 'head' | 'body', plans: object[][]) => {
  const reconcile = plans.map((plugins) => `window.__aiplugsRuntime.reconcile(${JSON.stringify({ plugins })});`).join('');
  const script = `<script>${reconcile}document.dispatchEvent(new Event('DOMContentLoaded'));</script>`;
  return `<!doctype html><html><head><title>reconciled</title>${where === 'head' ? script : ''}</head><body>${where === 'body' ? script : ''}<h1>reconciled</h1></body></html>`;
};

/** The page's own script: proves page scripts still run, and records its place in the order. */
const APP_JS = `window.__order = window.__order || []; window.__order.push('page:' + document.readyState); document.documentElement.dataset.pageScript = 'ran';`;

/** A page whose last Content-Type is text/plain: the browser shows this text, and nothing else. */
export const TEXT_TYPE_LAST_BODY = '<!doctype html><html><head><title>text last</title></head><body>text last</body></html>';
/** An HTML file a page offers for download (`<a download>`): saved as the site sent it. */
export const SAVED_HTML = '<!doctype html><html><head><title>saved</title></head><body><p>a file to keep</p></body></html>';
/** A body with no Content-Type that does not start like HTML: shown as text, though it has tags. */
export const NO_TYPE_TEXT = 'Plain notes: use <b> for bold and <p> for paragraphs.';
export const LARGE_BYTES = 48 * 1024 * 1024;

/** A site (a PHP page behind gzip, say) that declares more bytes than it sends, then closes. */
const brokenOff: Handler = (_request, response) => {
  const body = gzipSync(page('broken off', '', `<p>${'text '.repeat(5000)}</p><p id="last">as far as it got</p>`));
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip', 'content-length': String(body.length + 500) });
  response.write(body, () => setTimeout(() => response.socket?.destroy(), 20));
};

/** A local HTTPS site covering every kind of response the proxy must treat right. */
export function startProxyTestSite(options: { https?: boolean } = {}): Promise<TestSite> {
  const compressed = page('compressed');
  return startTestSite(
    {
      '/': html({}, page('home')),
      '/app.js': respond(200, { 'content-type': 'text/javascript' }, APP_JS),
      '/csp-header': html({ 'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'", 'x-frame-options': 'DENY' }, page('csp header')),
      '/csp-meta': html({}, page('csp meta', `<meta http-equiv="Content-Security-Policy" content="script-src 'self'; connect-src 'none'">`)),
      '/csp-default-only': html({ 'content-security-policy': "default-src 'none'; script-src-attr 'none'" }, page('csp default only').replace('<script src="/app.js"></script>', '')),
      // Inline scripts and a CDN, not the site itself: a list the proxy may not add a nonce to.
      '/csp-unsafe-inline-cdn': html(
        { 'content-security-policy': "script-src 'unsafe-inline' https://cdn.invalid; style-src 'unsafe-inline'" },
        page('unsafe inline', '<script>document.documentElement.dataset.pageScript = "ran";</script>').replace('<script src="/app.js"></script>', ''),
      ),
      '/strict-dynamic': html(
        { 'content-security-policy': "script-src 'nonce-pagenonce' 'strict-dynamic'; object-src 'none'; base-uri 'none'" },
        `<!doctype html><html><head><title>strict dynamic</title><script nonce="pagenonce">window.__order = window.__order || []; window.__order.push('page'); document.documentElement.dataset.pageScript = 'ran';</script></head><body>sd</body></html>`,
      ),
      '/trusted-types': html(
        { 'content-security-policy': "require-trusted-types-for 'script'; trusted-types app; script-src 'self'" },
        page('trusted types', '', '<script src="/tt.js"></script>'),
      ),
      '/tt.js': respond(200, { 'content-type': 'text/javascript' }, "const p = trustedTypes.createPolicy('app', { createHTML: (s) => s }); document.body.insertAdjacentHTML('beforeend', p.createHTML('<b id=tt>tt ok</b>'));"),
      '/sandboxed': html({ 'content-security-policy': 'sandbox allow-scripts' }, page('sandboxed')),
      '/sandboxed-frame-parent': html({}, page('parent', '', '<iframe id="child" sandbox="allow-scripts" src="/frame-child"></iframe>')),
      '/frame-parent': html({}, page('parent', '', '<iframe id="child" src="/frame-child"></iframe>')),
      '/frame-child': html({}, page('child')),
      // HTML in plugin elements: Chromium navigates them as frames (Sec-Fetch-Dest: object, embed).
      '/object-parent': html({}, page('parent', '', '<object id="object" data="/frame-child" type="text/html"></object><embed id="embed" src="/frame-child" type="text/html">')),
      '/spa': html({}, page('spa', '', '<script src="/spa.js"></script>')),
      // An image whose answer never ends: the page's load event never comes.
      '/endless-image': html({}, page('endless image', '', '<img src="/endless.png" alt="">')),
      '/endless.png': (_request, response) => {
        response.writeHead(200, { 'content-type': 'image/png' }).write(Buffer.from('89504e470d0a1a0a', 'hex'));
      },
      '/spa.js': respond(200, { 'content-type': 'text/javascript' }, `window.__navs = []; window.addEventListener('aiplugs:navigate', (e) => window.__navs.push(e.detail));`),
      '/data.json': respond(200, { 'content-type': 'application/json' }, JSON_BODY),
      '/fragment.html': html({}, HTML_FRAGMENT),
      '/image.png': respond(200, { 'content-type': 'image/png' }, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')),
      '/gzip': html({ 'content-encoding': 'gzip' }, gzipSync(compressed)),
      '/own-aiplugs': html({}, page('own name', '', `<script>let AiPlugs = 'the page\\'s own'; document.documentElement.dataset.own = AiPlugs;</script>`)),
      '/two-locations': (_request, response) => void response.writeHead(302, ['Location', '/', 'Location', '/gzip', 'Content-Length', '0']).end(),
      '/excluded/broken-off': brokenOff,
      '/broken-off': brokenOff,
      '/br': html({ 'content-encoding': 'br' }, brotliCompressSync(compressed)),
      '/deflate': html({ 'content-encoding': 'deflate' }, deflateSync(compressed)),
      '/euc-kr': respond(200, { 'content-type': 'text/html; charset=euc-kr' }, encodedPage('euc-kr')),
      '/shift_jis': respond(200, { 'content-type': 'text/html; charset=shift_jis' }, encodedPage('shift_jis')),
      '/gbk': respond(200, { 'content-type': 'text/html; charset=gbk' }, encodedPage('gbk')),
      '/iso-8859-1': respond(200, { 'content-type': 'text/html; charset=iso-8859-1' }, encodedPage('iso-8859-1')),
      '/late-meta-charset': respond(200, { 'content-type': 'text/html' }, lateMetaCharsetPage()),
      '/body-meta-charset': respond(200, { 'content-type': 'text/html' }, bodyMetaCharsetPage()),
      '/no-head': html({}, '<p id="text">no head here</p><script src="/app.js"></script>'),
      '/xhtml': respond(
        200,
        { 'content-type': 'application/xhtml+xml; charset=utf-8' },
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body><p id="text">an XHTML page &amp; its plugins</p></body></html>',
      ),
      // Two Content-Type headers (misconfigured stacks): the browser takes the last (content-type.ts).
      '/html-type-last': (_request, response) => void response.writeHead(200, ['Content-Type', 'text/plain', 'Content-Type', 'text/html']).end(page('html last')),
      // Headers sent twice, as stacks that set them in both the app and its front server do.
      '/repeated-headers': (_request, response) =>
        void response
          .writeHead(200, ['Content-Type', 'text/html; charset=utf-8', 'X-Content-Type-Options', 'nosniff', 'X-Content-Type-Options', 'nosniff', 'Content-Language', 'en', 'Content-Language', 'de'])
          .end(page('repeated headers', '', '<script src="/repeated-headers.js"></script>')),
      '/repeated-headers.js': (_request, response) =>
        void response
          .writeHead(200, ['Content-Type', 'text/javascript', 'X-Content-Type-Options', 'nosniff', 'X-Content-Type-Options', 'nosniff', 'ETag', '"a"', 'ETag', '"a"'])
          .end("document.documentElement.dataset.repeatedHeaders = 'ran';"),
      // No Content-Type: Chromium shows a body that starts like HTML as HTML, and any other as text (html-sniffing.ts).
      // A page that hydrates where a framework would: its deferred script records what its head holds then.
      // Relative URLs in this page point to another origin, where nothing listens.
      '/base-elsewhere': html({}, '<!doctype html><html><head><base href="http://127.0.0.1:9/"><title>base</title></head><body><h1>base elsewhere</h1></body></html>'),
      // The extension stops (or stops and starts again) a plugin while the document is still being
      // parsed: `__aiplugsRuntime.reconcile`, called here by the page itself at the same moments.
      '/stop-in-head': html({}, reconcilingPage('head', [[PING]])),
      '/restart-in-head': html({}, reconcilingPage('head', [[PING], [PING, MARKER_AGAIN]])),
      '/stop-in-body': html({}, reconcilingPage('body', [[PING]])),
      '/hydrating': html({}, '<!doctype html><html><head><title>hydrating</title><script defer src="/hydrate.js"></script></head><body><h1>hydrating</h1></body></html>'),
      '/hydrate.js': respond(200, { 'content-type': 'text/javascript' }, `window.__head = [...document.head.children].map((element) => [element.tagName, element.dataset.aiplugs || element.dataset.aiplugsPlugin || ''].join(' ').trim());`),
      ...reactSsrRoutes(),
      '/download-link': html({}, page('download link', '', '<a id="save" href="/saved.html" download>save</a>')),
      '/saved.html': html({}, SAVED_HTML),
      '/no-type': respond(200, {}, page('no type')),
      '/no-type-late-charset': respond(200, {}, Buffer.from(`<b>bold</b><meta charset="utf-8"><p id="text">${LATE_META_CHARSET_TEXT}</p><script src="/app.js"></script>`, 'utf8')),
      '/no-type-text': respond(200, {}, NO_TYPE_TEXT),
      '/no-type-nosniff': respond(200, { 'x-content-type-options': 'nosniff' }, page('no type nosniff')),
      '/text-type-last': (_request, response) => void response.writeHead(200, ['Content-Type', 'text/html; charset=utf-8', 'Content-Type', 'text/plain']).end(TEXT_TYPE_LAST_BODY),
      '/download': html({ 'content-disposition': 'attachment; filename="page.html"' }, page('download')),
      '/not-found': respond(404, { 'content-type': 'text/html' }, page('missing')),
      '/excluded/page': html({}, page('excluded')),
      // A page reached by a form POST (search and login results, checkout steps, ASP.NET postbacks).
      '/form': html({}, page('form', '', '<form id="form" method="post" action="/form-result"><input name="q" value="caf\u00e9 & more"><button id="send">Send</button></form>')),
      '/form-result': (request, response) => {
        if (request.method !== 'POST') return void response.writeHead(405, { allow: 'POST' }).end();
        let body = '';
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => (body += chunk));
        request.on('end', () => {
          const q = new URLSearchParams(body).get('q') ?? '';
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page('form result', '', `<p id="posted">${q.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`));
        });
      },
      '/cached': (request, response) => {
        if (request.headers['if-none-match'] === '"v1"') return void response.writeHead(304, { etag: '"v1"' }).end();
        response.writeHead(200, { 'content-type': 'text/html', etag: '"v1"', 'cache-control': 'max-age=3600' }).end(page('cached'));
      },
      '/style.css': respond(200, { 'content-type': 'text/css', 'cache-control': 'max-age=3600', etag: '"css"' }, 'body { color: black }'),
      '/large.bin': (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(LARGE_BYTES) });
        const chunk = Buffer.alloc(1024 * 1024, 7);
        let sent = 0;
        const pump = () => {
          while (sent < LARGE_BYTES) {
            sent += chunk.byteLength;
            if (!response.write(chunk)) return void response.once('drain', pump);
          }
          response.end();
        };
        pump();
      },
    },
    options,
  );
}
