import { gzipSync } from 'node:zlib';
import type { Context } from 'hono';
import { accepts } from 'hono/accepts';
import { PAGE_RUNTIME_FILE_SOURCE } from '../../runtime/page-runtime.js';

const HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  // Its name changes with its content, so it can be cached forever.
  'cache-control': 'public, max-age=31536000, immutable',
  'x-content-type-options': 'nosniff',
  vary: 'accept-encoding',
};

let gzipped: Uint8Array<ArrayBuffer> | null = null;

/**
 * The page runtime file, which pages load through the bridge, gzipped (33 KB → 12 KB) for every
 * browser that accepts it. It is compressed once, on first use: ~2 ms, not worth a place in
 * start-up, and gzip rather than brotli, which saves another 0.5 KB for 20–40× the time.
 */
export function runtimeFileRoute(c: Context): Response {
  if (accepts(c, { header: 'Accept-Encoding', supports: ['gzip'], default: 'identity' }) !== 'gzip') return c.body(PAGE_RUNTIME_FILE_SOURCE, 200, HEADERS);
  gzipped ??= new Uint8Array(gzipSync(PAGE_RUNTIME_FILE_SOURCE, { level: 9 }));
  return c.body(gzipped, 200, { ...HEADERS, 'content-encoding': 'gzip' });
}
