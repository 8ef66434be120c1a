/**
 * The hostile-web soak (issue #12): while an ordinary page loads through the proxy again and
 * again and /api/health is polled, a hostile page does ~1 GiB of bridge uploads (half refused on
 * their declared length, half read whole under the cap and rejected), four head-less 1 MiB documents
 * trickle in 100 bytes at a time, and 5,000 distinct host names ask for TLS certificates.
 * Measured: the gateway's peak RSS over its idle RSS (target < +100 MB) and /api/health p99
 * (target < 200 ms), and the ordinary page's latency under attack as a ratio of the same page
 * with no attack, earlier in the same run. Several rounds; every round is reported.
 */
import http from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { createClient, MiB, NAVIGATE, RssProbe, SMALL_PAGE, startGateway, type ProxyChild } from '../proxy/harness.js';

const ROUNDS = 2;
/** 48 uploads declaring 16 MiB (over the 8 MiB cap: refused on the head) and 48 streaming 6 MiB (read whole, then rejected): ~1 GiB. */
const UPLOADS = 96;
const DECLARED_SIZE = 16 * MiB;
const STREAMED_SIZE = 6 * MiB;
const UPLOADS_AT_ONCE = 8;
const TRICKLED = 4;
const HOST_NAMES = 5000;
const HANDSHAKES_AT_ONCE = 50;

interface Site {
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** `/page`: an ordinary small page. `/trickle`: a head-less 1 MiB document, 100 bytes per millisecond. */
async function startSite(): Promise<Site> {
  const server = http.createServer((request, response) => {
    if (request.url === '/page') return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': SMALL_PAGE.length }).end(SMALL_PAGE);
    if (request.url === '/trickle') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.socket?.setNoDelay(true);
      const piece = Buffer.alloc(100, 'x');
      let sent = 0;
      const timer = setInterval(() => {
        if (sent >= MiB || response.destroyed) {
          clearInterval(timer);
          response.end();
          return;
        }
        sent += piece.length;
        response.write(piece);
      }, 1);
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://localhost:${port}`,
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Polls `/api/health` every 50 ms until stopped; returns the latencies. */
function pollHealth(apiPort: number): { stop(): Promise<number[]> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await fetch(`http://127.0.0.1:${apiPort}/api/health`).then((response) => response.arrayBuffer(), () => null);
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

/** Loads the ordinary page through the proxy for `ms`; returns each load's latency. */
async function loadPages(proxyPort: number, site: Site, ms: number): Promise<number[]> {
  const client = await createClient({ proxyPort, secure: false, origin: site.origin });
  const latencies: number[] = [];
  const until = performance.now() + ms;
  try {
    while (performance.now() < until) {
      const started = performance.now();
      await client.request(`${site.origin}/page`, { headers: NAVIGATE, keepBody: false });
      latencies.push(performance.now() - started);
    }
  } finally {
    client.close();
  }
  return latencies;
}

/** The capability base an injected page finds in its own markup. */
async function bridgeBase(proxyPort: number, site: Site): Promise<string> {
  const client = await createClient({ proxyPort, secure: false, origin: site.origin });
  try {
    const page = await client.request(`${site.origin}/page`, { headers: NAVIGATE });
    const base = /&quot;bridge&quot;:&quot;(\/__aiplugs\/cap\/[^&]+)&quot;/.exec(page.body?.toString() ?? '')?.[1];
    if (!base) throw new Error('the page was not injected');
    return base;
  } finally {
    client.close();
  }
}

/** ~1 GiB of uploads to the bridge: odd ones declare 16 MiB (refused on the head), even ones stream 6 MiB chunked (read, then rejected). */
async function hostileUploads(proxyPort: number, site: Site, base: string): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < UPLOADS) {
      const index = next++;
      const size = index % 2 ? DECLARED_SIZE : STREAMED_SIZE;
      const status = await new Promise<number>((resolve) => {
        const request = http.request(
          { host: '127.0.0.1', port: proxyPort, method: 'POST', path: `${site.origin}${base}/api/plugins/bench-inject/infer`, headers: { host: `localhost:${site.port}`, 'content-type': 'application/json', ...(index % 2 ? { 'content-length': size } : {}) } },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
            // A page stops sending once it is answered.
            request.destroy();
          },
        );
        request.on('error', () => resolve(0));
        const block = Buffer.alloc(256 * 1024, 'x');
        let sent = 0;
        const pump = () => {
          while (sent < size && !request.destroyed) {
            sent += block.length;
            if (!request.write(block)) return void request.once('drain', pump);
          }
          if (!request.destroyed) request.end();
        };
        pump();
      });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: UPLOADS_AT_ONCE }, lane));
  return statuses;
}

/** Four head-less documents trickled through the proxy at once. */
async function trickledDocuments(proxyPort: number, site: Site): Promise<void> {
  await Promise.all(
    Array.from({ length: TRICKLED }, async () => {
      const client = await createClient({ proxyPort, secure: false, origin: site.origin });
      try {
        await client.request(`${site.origin}/trickle`, { headers: NAVIGATE, keepBody: false });
      } finally {
        client.close();
      }
    }),
  );
}

/** 5,000 TLS handshakes for distinct names through CONNECT; returns how many got a certificate. */
async function hostNameFlood(proxyPort: number): Promise<number> {
  let next = 0;
  let certified = 0;
  const lane = async () => {
    while (next < HOST_NAMES) {
      const name = `h${next++}.flood.test`;
      certified += await new Promise<number>((resolve) => {
        const socket = netConnect(proxyPort, '127.0.0.1', () => socket.write(`CONNECT ${name}:443 HTTP/1.1\r\nhost: ${name}:443\r\n\r\n`));
        socket.once('error', () => resolve(0));
        socket.once('data', () => {
          const session = tls.connect({ socket, servername: name, rejectUnauthorized: false }, () => {
            session.destroy();
            resolve(1);
          });
          session.once('error', () => resolve(0));
        });
      });
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKES_AT_ONCE }, lane));
  return certified;
}

type Row = Record<string, string | number>;

async function round(index: number, gateway: ProxyChild & { apiPort: number }, site: Site): Promise<Row[]> {
  const probe = new RssProbe(gateway.pid);
  // Quiet phase: the same page and health polling, no attack (the baseline of this round).
  await loadPages(gateway.port, site, 1000);
  const idleMb = await probe.currentMb();
  const quietHealth = pollHealth(gateway.apiPort);
  const quietPages = await loadPages(gateway.port, site, 5000);
  const quietLatencies = await quietHealth.stop();
  await probe.reset();
  const base = await bridgeBase(gateway.port, site);
  const health = pollHealth(gateway.apiPort);
  let attacking = true;
  // SOAK_ONLY=uploads|trickle|names runs one part alone (to see what each costs).
  const only = process.env.SOAK_ONLY;
  const attack = Promise.all([
    !only || only === 'uploads' ? hostileUploads(gateway.port, site, base) : {},
    !only || only === 'trickle' ? trickledDocuments(gateway.port, site) : undefined,
    !only || only === 'names' ? hostNameFlood(gateway.port) : 0,
  ]).finally(() => (attacking = false));
  const pages: number[] = [];
  while (attacking) pages.push(...(await loadPages(gateway.port, site, 1000)));
  const [uploads, , certified] = await attack;
  const healthLatencies = await health.stop();
  const peakMb = await probe.peakMb();
  return [
    {
      round: index,
      phase: 'no attack',
      'page p50 ms': percentile(quietPages, 50),
      'page p99 ms': percentile(quietPages, 99),
      'health p99 ms': percentile(quietLatencies, 99),
      'idle RSS MB': Math.round(idleMb),
    },
    {
      round: index,
      phase: 'under attack',
      'page p50 ms': percentile(pages, 50),
      'page p99 ms': percentile(pages, 99),
      'page p50 vs no attack': percentile(pages, 50) / percentile(quietPages, 50),
      'health p99 ms': percentile(healthLatencies, 99),
      'health max ms': Math.max(...healthLatencies),
      'peak RSS MB': Math.round(peakMb),
      'peak over idle MB': Math.round(peakMb - idleMb),
      'upload answers': JSON.stringify(uploads),
      'names certified': `${certified} / ${HOST_NAMES}`,
    },
  ];
}

export async function run(): Promise<Row[]> {
  const site = await startSite();
  const gateway = await startGateway({ env: { AIPLUGS_LOG_LEVEL: 'warn' } });
  try {
    const rows: Row[] = [];
    for (let index = 1; index <= ROUNDS; index += 1) rows.push(...(await round(index, gateway, site)));
    return rows;
  } finally {
    await gateway.stop();
    await site.close();
  }
}
