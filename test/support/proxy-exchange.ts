/**
 * Helpers for tests that push bytes through a proxy: local upstreams, large transfers that can
 * halt halfway, requests in absolute form (as browsers send them to an HTTP proxy), raw bytes
 * for requests no well-behaved client sends, and a measure of retained Buffer memory.
 */
import { once } from 'node:events';
import { createServer, request as httpRequest, type Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export const MiB = 1024 * 1024;
export const CHUNK = Buffer.alloc(64 * 1024, 'x');

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Writes `bytes` in 64 KiB chunks, honouring backpressure, then ends; optionally halts halfway. */
export function pump(target: NodeJS.WritableStream, bytes: number, halt?: { at: number; until: Promise<void> }): void {
  let sent = 0;
  const more = () => {
    while (sent < bytes) {
      if (halt && sent === halt.at) {
        halt.at = -1;
        return void halt.until.then(more);
      }
      sent += CHUNK.length;
      if (!target.write(CHUNK)) return void target.once('drain', more);
    }
    target.end();
  };
  more();
}

export interface Exchange {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Bytes received, for bodies too large to keep. */
  received: number;
}

/** One request through the proxy (absolute-form URL, as browsers send to an HTTP proxy); `agent: false` for a connection of its own. */
export function viaProxy(
  proxy: { port: number },
  url: string,
  options: { method?: string; headers?: Record<string, string>; upload?: number; haltUpload?: { at: number; until: Promise<void> }; keepBody?: boolean; onData?: (received: number) => void; agent?: Agent | false } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({ host: '127.0.0.1', port: proxy.port, method: options.method ?? 'GET', path: url, headers: { ...options.headers, host: target.host }, ...(options.agent !== undefined ? { agent: options.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (options.keepBody !== false) chunks.push(chunk);
        options.onData?.(received);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), received }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.upload) pump(req, options.upload, options.haltUpload);
    else req.end();
  });
}

v8.setFlagsFromString('--expose-gc');
/** A full, synchronous garbage collection (tests that measure what a proxy keeps). */
export const collectGarbage = runInNewContext('gc') as () => void;

/**
 * Buffer memory still reachable: what a proxy keeps, not what it churns. V8 frees array buffers
 * on a background sweeper after a GC, so collect a few times and keep the lowest reading.
 */
export async function retainedBuffers(): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 4; i += 1) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    lowest = Math.min(lowest, process.memoryUsage().arrayBuffers);
  }
  return lowest;
}

/** A promise with its resolver, to halt a transfer halfway. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Sends raw bytes, resolves with everything the server answered before closing (or 2 s). */
export function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = netConnect({ host: '127.0.0.1', port }, () => socket.end(text));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', (error) => resolve(`socket error: ${error.message}`));
    socket.setTimeout(2000, () => socket.destroy());
  });
}

/**
 * Downloads `size` bytes of `url` through the proxy, whose upstream halts halfway until `resume`
 * is called, and returns the Buffer memory the process holds at that point beyond what it held
 * before: what the proxy retained of the body.
 */
export async function retainedHalfwayThroughDownload(proxy: { port: number }, url: string, size: number, resume: () => void): Promise<number> {
  const base = await retainedBuffers();
  let retained = 0;
  const exchange = await viaProxy(proxy, url, {
    keepBody: false,
    onData: (received) => {
      if (received !== size / 2) return;
      void retainedBuffers().then((bytes) => {
        retained = bytes - base;
        resume();
      });
    },
  });
  if (exchange.received !== size) throw new Error(`received ${exchange.received} of ${size} bytes`);
  return retained;
}
