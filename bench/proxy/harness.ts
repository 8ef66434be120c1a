/**
 * Loopback pieces for the proxy benchmarks: an origin site, the real gateway and mitmdump as
 * child processes, keep-alive clients (direct, or through an HTTP proxy with CONNECT for https),
 * and a peak-RSS probe over /proc. Nothing here touches the network beyond 127.0.0.1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import getPort from 'get-port';
import { generateCACertificate } from 'mockttp';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'gateway/bin/aiplugs.js');
const PLUGINS = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));
const ADDON = fileURLToPath(new URL('./mitm_inject.py', import.meta.url));
export const MITMDUMP = ['/usr/bin/mitmdump', ...(process.env.PATH ?? '').split(':').map((dir) => join(dir, 'mitmdump'))].find((path) => existsSync(path)) ?? null;

export const MiB = 1024 * 1024;

/** A typical small page: ~2 KB of HTML with a head, like a landing page's first bytes. */
export const SMALL_PAGE = Buffer.from(
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title><link rel="stylesheet" href="/s.css"></head><body>${'<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>'.repeat(28)}</body></html>`,
);

/** A 5 MiB page: a normal head, then a long body (a big article or data table). */
export function htmlOfSize(bytes: number): Buffer {
  const head = Buffer.from('<!doctype html><html><head><meta charset="utf-8"><title>Big</title></head><body>');
  const tail = Buffer.from('</body></html>');
  const row = Buffer.from('<tr><td>cell</td><td>another cell with some text</td><td>42</td></tr>\n');
  const body = Buffer.alloc(bytes - head.length - tail.length);
  for (let at = 0; at < body.length; at += row.length) row.copy(body, at, 0, Math.min(row.length, body.length - at));
  return Buffer.concat([head, body, tail]);
}

const BLOCK = Buffer.alloc(MiB, 'x');
const HTML_BLOCK = htmlOfSize(MiB + 1024).subarray(120, 120 + MiB);

/** Writes `bytes` from `block` with backpressure (never more than one block held). */
export function pump(target: NodeJS.WritableStream, bytes: number, first: Buffer = Buffer.alloc(0), block: Buffer = BLOCK, done?: () => void): void {
  let sent = 0;
  if (first.length) {
    target.write(first);
    sent = first.length;
  }
  const more = (): void => {
    while (sent < bytes) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - sent));
      sent += chunk.length;
      if (!target.write(chunk)) return void target.once('drain', more);
    }
    target.end();
    done?.();
  };
  more();
}

export interface Origin {
  http: string;
  https: string;
  close(): Promise<void>;
}

/**
 * The site: `/small.html`, `/page-5mb.html`, `/big?mib=N&type=bin|html` (generated as it is sent),
 * and `POST /upload` (counts and discards).
 */
export async function startOrigin(): Promise<Origin> {
  const page5 = htmlOfSize(5 * MiB);
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://origin');
    if (request.method === 'POST') {
      let received = 0;
      request.on('data', (chunk: Buffer) => (received += chunk.length));
      request.on('end', () => response.writeHead(200, { 'content-type': 'text/plain' }).end(String(received)));
      return;
    }
    const send = (type: string, body: Buffer): void => void response.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'max-age=60' }).end(body);
    if (url.pathname === '/small.html') return send('text/html; charset=utf-8', SMALL_PAGE);
    if (url.pathname === '/page-5mb.html') return send('text/html; charset=utf-8', page5);
    if (url.pathname === '/big') {
      const bytes = Number(url.searchParams.get('mib') ?? '1024') * MiB;
      const html = url.searchParams.get('type') === 'html';
      response.writeHead(200, { 'content-type': html ? 'text/html; charset=utf-8' : 'application/octet-stream', 'content-length': bytes });
      pump(response, bytes, html ? Buffer.from('<!doctype html><html><head><title>big</title></head><body>') : undefined, html ? HTML_BLOCK : BLOCK);
      return;
    }
    response.writeHead(404).end();
  };
  const cert = await generateCACertificate({ subject: { commonName: 'localhost' } });
  const plain = http.createServer(handle);
  const secure = https.createServer({ key: cert.key, cert: cert.cert }, handle);
  for (const server of [plain, secure]) {
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  return {
    http: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`,
    https: `https://127.0.0.1:${(secure.address() as AddressInfo).port}`,
    close: async () => {
      for (const server of [plain, secure]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

export interface ProxyChild {
  name: string;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The real gateway (`aiplugs start --json`) with the bench plugin (or `pluginsDir`'s), trusting the origin's test certificate. */
export async function startGateway(options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; pluginsDir?: string } = {}): Promise<ProxyChild & { apiPort: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-'));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', dataDir, '--plugins-dir', options.pluginsDir ?? PLUGINS], {
    cwd: REPO,
    env: { ...process.env, AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  const ready = await new Promise<{ proxyPort: number; apiPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready after 30 s:\n${log}`)), 30_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as { proxyPort: number; apiPort: number });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}:\n${log}`)));
  });
  child.stdout?.resume();
  // The gateway's own pid: with secrets in the environment `child` is a launcher in front of it.
  const { pid } = JSON.parse(await readFile(join(dataDir, 'runtime.json'), 'utf8')) as { pid: number };
  return {
    name: 'gateway',
    pid,
    port: ready.proxyPort,
    apiPort: ready.apiPort,
    stop: async () => {
      await stopChild(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() - started > 30_000) throw new Error(`${what} did not listen on ${port} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A plain relay: a Node process that pipes TCP connections to `targetPort` and parses nothing (the
 * client talks to it as if it were the origin). What a big transfer through it costs, next to
 * direct, is the loopback hop itself: a second read and write of every byte.
 */
const RELAY_SOURCE = `const net = require('node:net');
const server = net.createServer((client) => {
  const upstream = net.connect(Number(process.argv[1]), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;

/** The least CPU a hop can spend: splice_relay.py moves each byte between the sockets without copying it into user space. */
const SPLICE_RELAY = fileURLToPath(new URL('./splice_relay.py', import.meta.url));

export type RelayKind = 'node' | 'splice';

/** A relay of `kind` to `targetPort`, as a child process that prints the port it listens on. */
export async function startRelay(targetPort: number, kind: RelayKind = 'node'): Promise<ProxyChild> {
  const [command, args] = kind === 'node' ? [process.execPath, ['-e', RELAY_SOURCE, String(targetPort)]] : ['python3', [SPLICE_RELAY, String(targetPort)]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${kind} relay exited with ${code}`)));
  }));
  return { name: `${kind} relay`, pid: child.pid!, port, stop: () => stopChild(child) };
}

/** mitmdump with the equivalent inject addon, or null when mitmproxy is not installed. */
export async function startMitmdump(): Promise<ProxyChild | null> {
  if (!MITMDUMP) return null;
  const confdir = await mkdtemp(join(tmpdir(), 'aiplugs-bench-mitm-'));
  const port = await getPort({ host: '127.0.0.1' });
  const args = ['-q', '--listen-host', '127.0.0.1', '--listen-port', String(port), '-s', ADDON, '--set', `confdir=${confdir}`, '--set', 'ssl_insecure=true', '--set', 'stream_large_bodies=1m'];
  const child = spawn(MITMDUMP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  await waitForPort(port, child, 'mitmdump');
  return {
    name: 'mitmproxy',
    pid: child.pid!,
    port,
    stop: async () => {
      await stopChild(child);
      await rm(confdir, { recursive: true, force: true });
    },
  };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system) a process has used so far, in seconds (Linux /proc). Unlike wall
 * time, it barely moves when other programs load the machine: a fairer cost comparison.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Peak RSS of a process between `reset()` and `peakMb()` (Linux: clear_refs 5 resets VmHWM). */
export class RssProbe {
  private sampled = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly pid: number) {}

  private async status(field: 'VmRSS' | 'VmHWM'): Promise<number> {
    const text = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kb = Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return kb / 1024;
  }

  async reset(): Promise<void> {
    await writeFile(`/proc/${this.pid}/clear_refs`, '5').catch(() => {});
    this.sampled = await this.status('VmRSS');
    this.timer = setInterval(() => {
      void this.status('VmRSS').then((mb) => (this.sampled = Math.max(this.sampled, mb)), () => {});
    }, 25);
  }

  /** The larger of the kernel's high-water mark (since reset) and our samples, in MB (MiB). */
  async peakMb(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    const hwm = await this.status('VmHWM').catch(() => NaN);
    return Math.max(this.sampled, Number.isNaN(hwm) ? 0 : hwm);
  }

  async currentMb(): Promise<number> {
    return this.status('VmRSS');
  }
}

export interface Reply {
  status: number;
  bytes: number;
  body: Buffer | null;
}

export interface Client {
  request(url: string, options?: { method?: string; headers?: OutgoingHttpHeaders; upload?: number; keepBody?: boolean }): Promise<Reply>;
  close(): void;
}

/** Browser-like navigation and sub-resource headers (Chromium's fetch metadata). */
export const NAVIGATE = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', 'user-agent': 'aiplugs-bench' };
export const SUBRESOURCE = { accept: '*/*', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'user-agent': 'aiplugs-bench' };

/** Opens a CONNECT tunnel through `proxyPort` and a TLS session over it (certificate not checked: loopback bench). */
async function tunnel(proxyPort: number, target: URL): Promise<tls.TLSSocket> {
  const raw = await new Promise<Socket>((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: target.host, headers: { host: target.host } });
    request.once('connect', (response, socket) => (response.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${response.statusCode}`))));
    request.once('error', reject);
    request.end();
  });
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ socket: raw, servername: target.hostname === '127.0.0.1' ? 'localhost' : target.hostname, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * One keep-alive connection, like a browser tab's: direct to the origin, or through a proxy
 * (absolute-form requests for http, a CONNECT tunnel for https).
 */
export async function createClient(options: { proxyPort?: number; secure: boolean; origin: string }): Promise<Client> {
  const target = new URL(options.origin);
  let agent: http.Agent;
  if (options.secure && options.proxyPort) {
    const socket = await tunnel(options.proxyPort, target);
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    (agent as unknown as { createConnection: () => Socket }).createConnection = () => socket;
  } else if (options.secure) {
    agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, servername: 'localhost' } as https.AgentOptions);
  } else {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }
  const viaPlainProxy = !options.secure && options.proxyPort !== undefined;
  const send = options.secure && !options.proxyPort ? https.request : http.request;
  return {
    request: (url, { method = 'GET', headers = {}, upload, keepBody = true } = {}) =>
      new Promise((resolve, reject) => {
        const parsed = new URL(url);
        const request = send(
          {
            agent,
            method,
            host: viaPlainProxy ? '127.0.0.1' : parsed.hostname,
            port: viaPlainProxy ? options.proxyPort : parsed.port,
            path: viaPlainProxy ? url : `${parsed.pathname}${parsed.search}`,
            headers: { host: parsed.host, ...headers, ...(upload ? { 'content-length': upload } : {}) },
          },
          (response) => {
            const chunks: Buffer[] = [];
            let bytes = 0;
            response.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              if (keepBody) chunks.push(chunk);
            });
            response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes, body: keepBody ? Buffer.concat(chunks) : null }));
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        if (upload) pump(request, upload, undefined, BLOCK.subarray(0, 256 * 1024));
        else request.end();
      }),
    close: () => agent.destroy(),
  };
}
