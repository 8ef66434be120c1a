/**
 * A reproducible corpus of web pages shaped like real ones, for the page-load benchmark: no
 * saved pages may be shipped or downloaded, so each page is drawn from a seeded generator whose
 * ranges follow the HTTP Archive's desktop medians (about 70 requests: ~20 scripts, ~7
 * stylesheets, ~25 images, a few web fonts, sometimes an iframe; text compressed with gzip;
 * sub-resources spread over the site, a CDN and a third party).
 *
 * Pages are generated in memory, for three origins given as URL prefixes (the bench's loopback
 * servers), and served from the returned map.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { seededRandom } from '../../gateway/src/testing/seeded-random.js';

export interface Asset {
  type: string;
  body: Buffer;
  gzip: boolean;
}

export type OriginName = 'site' | 'cdn' | 'third';

export interface CorpusPage {
  /** `/p<n>.html` on the site origin. */
  path: string;
  requests: number;
}

export interface Corpus {
  pages: CorpusPage[];
  /** Every file of every origin, keyed by `<origin>:<path>`. */
  assets: Map<string, Asset>;
}

/** A log-uniform draw between `low` and `high`: page features are heavy-tailed. */
const between = (next: () => number, low: number, high: number) => Math.round(Math.exp(Math.log(low) + next() * (Math.log(high) - Math.log(low))));

/** Script text of about `bytes`: many small functions and one call, so the engine has real code to parse. */
function scriptOfSize(id: string, bytes: number): Buffer {
  const parts: string[] = [`(function(){var m${id}={};`];
  let size = parts[0]!.length;
  for (let index = 0; size < bytes; index++) {
    const part = `m${id}.f${index}=function(a,b){var s=0;for(var i=0;i<a;i++){s+=(i*${index % 97})^b;}return s+"${id}-${index}";};`;
    parts.push(part);
    size += part.length;
  }
  parts.push(`window.__loaded=(window.__loaded||0)+1;m${id}.f0(10,3);})();\n`);
  return Buffer.from(parts.join(''));
}

function styleOfSize(id: string, bytes: number, fonts: string[]): Buffer {
  const parts = fonts.map((url, index) => `@font-face{font-family:"f${id}${index}";src:url("${url}") format("woff2");font-display:swap}`);
  let size = parts.join('').length;
  for (let index = 0; size < bytes; index++) {
    const rule = `.c${id}-${index}{margin:${index % 13}px ${index % 7}px;color:#${(index * 2654435761).toString(16).slice(-6).padStart(6, '0')};display:${index % 3 ? 'block' : 'flex'}}`;
    parts.push(rule);
    size += rule.length;
  }
  if (fonts.length) parts.push(`body{font-family:${fonts.map((_, index) => `"f${id}${index}"`).join(',')},sans-serif}`);
  return Buffer.from(parts.join('\n'));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

const PNG_PIXEL = (() => {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return { header: pngChunk('IHDR', header), data: pngChunk('IDAT', deflateSync(Buffer.from([0, 200, 120, 40]))) };
})();

/** A valid 1×1 PNG padded to about `bytes` with a private ancillary chunk, so the browser decodes it. */
function imageOfSize(bytes: number, seed: number): Buffer {
  const padding = Buffer.alloc(Math.max(0, bytes - 70), seed % 251);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), PNG_PIXEL.header, pngChunk('prVt', padding), PNG_PIXEL.data, pngChunk('IEND', Buffer.alloc(0))]);
}

function paragraphs(next: () => number, bytes: number): string {
  const words = ['local', 'model', 'page', 'gateway', 'proxy', 'plugin', 'browser', 'script', 'inference', 'document', 'network', 'private'];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const sentence = Array.from({ length: 8 + Math.floor(next() * 12) }, () => words[Math.floor(next() * words.length)]).join(' ');
    const block = next() < 0.15 ? `<h2 class="c0-${parts.length % 40}">${sentence}</h2>` : `<div class="c1-${parts.length % 60}"><p>${sentence}. <a href="#a${parts.length}">${sentence.slice(0, 20)}</a></p></div>`;
    parts.push(block);
    size += block.length;
  }
  return parts.join('\n');
}

/**
 * `count` pages from `seed`. Each page's sub-resources are its own (no cross-page cache hits),
 * except one shared framework script on the CDN, as sites share jQuery or React bundles.
 */
export function generateCorpus(count: number, origins: Record<OriginName, string>, seed = 15): Corpus {
  const next = seededRandom(seed);
  const assets = new Map<string, Asset>();
  const put = (origin: OriginName, path: string, type: string, body: Buffer, gzip = true) => assets.set(`${origin}:${path}`, { type, body: gzip ? gzipSync(body) : body, gzip });
  const url = (origin: OriginName, path: string) => (origin === 'site' ? path : `${origins[origin]}${path}`);
  put('cdn', '/lib/framework.js', 'application/javascript', scriptOfSize('fw', 90_000));
  const pages: CorpusPage[] = [];
  for (let n = 0; n < count; n++) {
    const pick = (): OriginName => (next() < 0.55 ? 'site' : next() < 0.7 ? 'cdn' : 'third');
    const head: string[] = ['<meta charset="utf-8">', `<title>Corpus page ${n}</title>`, '<meta name="viewport" content="width=device-width">'];
    const body: string[] = [];
    let requests = 1;
    const fonts = Array.from({ length: between(next, 1, 5) - 1 }, (_, index) => {
      const path = `/p${n}/font${index}.woff2`;
      put('cdn', path, 'font/woff2', Buffer.alloc(between(next, 15_000, 60_000), index), false);
      return url('cdn', path);
    });
    requests += fonts.length;
    const styles = between(next, 2, 12);
    for (let index = 0; index < styles; index++) {
      const origin = pick();
      const path = `/p${n}/style${index}.css`;
      put(origin, path, 'text/css', styleOfSize(`${n}${index}`, between(next, 2_000, 60_000), index === 0 ? fonts : []));
      head.push(`<link rel="stylesheet" href="${url(origin, path)}">`);
    }
    requests += styles;
    head.push(`<script>window.dataLayer=[];window.__start=${n};</script>`);
    const scripts = between(next, 4, 35);
    for (let index = 0; index < scripts; index++) {
      const origin = pick();
      const path = `/p${n}/script${index}.js`;
      put(origin, path, 'application/javascript', scriptOfSize(`${n}_${index}`, between(next, 1_000, 120_000)));
      const mode = index < 2 ? '' : next() < 0.5 ? ' async' : next() < 0.5 ? ' defer' : '';
      (mode || index < 4 ? head : body).push(`<script${mode} src="${url(origin, path)}"></script>`);
    }
    if (next() < 0.6) {
      head.push(`<script src="${url('cdn', '/lib/framework.js')}"></script>`);
      requests += 1;
    }
    requests += scripts;
    const images = between(next, 3, 60);
    for (let index = 0; index < images; index++) {
      const origin = pick();
      const path = `/p${n}/img${index}.png`;
      put(origin, path, 'image/png', imageOfSize(between(next, 500, 120_000), n + index), false);
      body.push(paragraphs(next, between(next, 200, 3_000)));
      body.push(`<img src="${url(origin, path)}" width="320" height="200" alt="">`);
    }
    requests += images;
    if (next() < 0.3) {
      const path = `/p${n}/frame.html`;
      put('third', path, 'text/html; charset=utf-8', Buffer.from(`<!doctype html><html><head><script src="/p${n}/frame.js"></script></head><body><p>embedded</p></body></html>`));
      put('third', `/p${n}/frame.js`, 'application/javascript', scriptOfSize(`fr${n}`, between(next, 5_000, 40_000)));
      body.push(`<iframe src="${url('third', path)}" width="300" height="250"></iframe>`);
      requests += 2;
    }
    body.push(`<script>document.body.dataset.done="${n}";</script>`);
    const html = `<!doctype html>\n<html lang="en"><head>\n${head.join('\n')}\n</head><body>\n${body.join('\n')}\n${paragraphs(next, between(next, 1_000, 20_000))}\n</body></html>\n`;
    put('site', `/p${n}.html`, 'text/html; charset=utf-8', Buffer.from(html));
    pages.push({ path: `/p${n}.html`, requests });
  }
  return { pages, assets };
}
