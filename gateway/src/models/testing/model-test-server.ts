import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelDeclaration } from '../../plugins/manifest-schema.js';
import { manifestSchema } from '../../plugins/manifest-schema.js';
import type { PluginWithModels } from '../model-provisioner.js';

/** One scripted misbehaviour, consumed by one request (in order) before normal serving resumes. */
export type ServerStep =
  | { status: number; headers?: Record<string, string> }
  /** Send this many bytes of the body, then hold the connection open and send nothing. */
  | { stallAfter: number }
  /** Send this many bytes of the body, then drop the connection. */
  | { resetAfter: number }
  /** Accept the request and never answer, not even headers. */
  | { hang: true };

/** How the test server serves one path. Every switch models a behaviour seen in real servers. */
export interface ServedFile {
  content: Buffer;
  /** Default: a strong ETag derived from the content; null sends none. */
  etag?: string | null;
  lastModified?: string;
  /** Honour `Range` (default true). */
  ranges?: boolean;
  /** Honour `If-Range` (default true); false models a server that serves the range anyway. */
  ifRange?: boolean;
  /** Answer ranges with 206 but the whole body labelled `bytes 0-…`. */
  wrongContentRange?: boolean;
  script?: ServerStep[];
  /** Send the body in chunks with a pause between them (for kill-mid-download tests). */
  throttle?: { chunkBytes: number; delayMs: number };
  /** Answer 302 to this absolute URL. */
  redirectTo?: string;
  /** Answer 401 unless this exact `Authorization` arrives. */
  requireAuthorization?: string;
  /**
   * Send `content` and then keep sending random bytes, without a `Content-Length`, for as long as
   * the client reads: a hostile or broken source whose body never ends. (A safety net stops it
   * at `ENDLESS_SAFETY_BYTES`, so that a regression fails a test rather than filling the disk.)
   */
  endless?: boolean;
}

/** Where an `endless` body gives up if the client never does. */
export const ENDLESS_SAFETY_BYTES = 256 * 1024 * 1024;

export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** Body bytes handed to the socket so far (counted for `endless` bodies only). */
  bytesSent: number;
  /** Whether the client went away before the server finished its answer. */
  cutOff: boolean;
}

export interface ModelTestServer {
  origin: string;
  port: number;
  url(path: string): string;
  files: Map<string, ServedFile>;
  requests: RecordedRequest[];
  /** Requests for one path. */
  requestsFor(path: string): RecordedRequest[];
  close(): Promise<void>;
}

export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Deterministic-length random bytes: every test gets content no cache could have seen. */
export const randomContent = (bytes: number): Buffer => randomBytes(bytes);

/** Writes until the client stops reading (or the safety net), honouring backpressure. */
async function writeEndlessly(res: ServerResponse, first: Buffer, record: RecordedRequest): Promise<void> {
  const filler = randomBytes(64 * 1024);
  let chunk = first;
  while (!res.destroyed && record.bytesSent < ENDLESS_SAFETY_BYTES) {
    record.bytesSent += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const go = () => {
          res.off('drain', go);
          res.off('close', go);
          resolve();
        };
        res.on('drain', go);
        res.on('close', go);
      });
    }
    chunk = filler;
  }
  res.end();
}

async function writeSlowly(res: ServerResponse, body: Buffer, throttle: { chunkBytes: number; delayMs: number }): Promise<void> {
  for (let offset = 0; offset < body.length; offset += throttle.chunkBytes) {
    if (res.destroyed) return;
    res.write(body.subarray(offset, offset + throttle.chunkBytes));
    await sleep(throttle.delayMs);
  }
  res.end();
}

/**
 * A loopback HTTP server that serves model files with scriptable faults (statuses, stalls,
 * resets, ignored or wrong ranges, changing ETags, redirects, auth). Records every request.
 *
 * @example
 *   const server = await startModelServer();
 *   server.files.set('/m.bin', { content, script: [{ status: 503 }] });
 */
export async function startModelServer(host = '127.0.0.1'): Promise<ModelTestServer> {
  const files = new Map<string, ServedFile>();
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record: RecordedRequest = { path, headers: req.headers, bytesSent: 0, cutOff: false };
    requests.push(record);
    res.on('close', () => (record.cutOff = !res.writableFinished));
    const file = files.get(path);
    if (!file) return void res.writeHead(404).end('not found');
    if (file.redirectTo) return void res.writeHead(302, { location: file.redirectTo }).end();
    if (file.requireAuthorization && req.headers.authorization !== file.requireAuthorization) return void res.writeHead(401).end();
    const step = file.script?.shift();
    if (step && 'hang' in step) return;
    if (step && 'status' in step) return void res.writeHead(step.status, step.headers ?? {}).end();
    const etag = file.etag === undefined ? `"${sha256Hex(file.content).slice(0, 16)}"` : file.etag;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (etag) headers.etag = etag;
    if (file.lastModified) headers['last-modified'] = file.lastModified;
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const validatorOk = !ifRange || file.ifRange === false || ifRange === etag || ifRange === file.lastModified;
    if ((file.ranges ?? true) && !file.endless && range && validatorOk) {
      start = Number(range[1]);
      if (start >= file.content.length) {
        return void res.writeHead(416, { 'content-range': `bytes */${file.content.length}` }).end();
      }
      status = 206;
      headers['accept-ranges'] = 'bytes';
      if (file.wrongContentRange) start = 0;
      headers['content-range'] = `bytes ${start}-${file.content.length - 1}/${file.content.length}`;
    }
    const body = file.content.subarray(start);
    if (file.endless) {
      res.writeHead(status, headers);
      return void writeEndlessly(res, body, record);
    }
    headers['content-length'] = body.length;
    res.writeHead(status, headers);
    if (step && 'stallAfter' in step) return void res.write(body.subarray(0, step.stallAfter));
    if (step && 'resetAfter' in step) {
      res.write(body.subarray(0, step.resetAfter), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (file.throttle) return void writeSlowly(res, body, file.throttle);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${host}:${port}`;
  return {
    origin,
    port,
    url: (path) => `${origin}${path}`,
    files,
    requests,
    requestsFor: (path) => requests.filter((request) => request.path === path),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Input for `testPlugin`: a declaration as a manifest would hold it. */
export type TestModel = Omit<ModelDeclaration, 'mirrors'> & { mirrors?: string[] };

/** A plugin as the registry would load it, declaring `models`. */
export function testPlugin(id: string, dir: string, models: TestModel[]): PluginWithModels {
  const manifest = manifestSchema.parse({ manifest_version: 3, id, name: id, version: '1.0.0', inference: { default_mode: 'local', models } });
  return { id, dir, manifest };
}
