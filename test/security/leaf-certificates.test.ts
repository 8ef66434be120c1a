/**
 * Security checklist 1 — leaf certificates under a host-name flood (issue #12, point 7).
 * A page can make the browser open TLS tunnels to thousands of distinct names; each one made the
 * proxy mint and keep a certificate forever. Certificates now live in a bounded LRU
 * (`proxy.leaf_cache_size`) and minting new ones is rate-limited (`proxy.leaf_mints_per_second`,
 * `proxy.leaf_mint_burst`); a refused mint fails that handshake and nothing else.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Session } from 'node:inspector/promises';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { after, describe, it } from 'node:test';
import { createCapabilityIssuer } from '../../gateway/src/bridge/page-capability.js';
import { generateCa, type CertificateAuthority } from '../../gateway/src/ca/certificate-authority.js';
import type { Logger } from '../../gateway/src/events/logger.js';
import { createProxy, type GatewayProxy, type ProxyOptions } from '../../gateway/src/proxy/create-proxy.js';
import { collectGarbage } from '../support/proxy-exchange.js';

/** A logger that keeps its warnings and errors, one per proxy. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = { debug() {}, info() {}, warn: (line: string) => void lines.push(line), error: (line: string) => void lines.push(line), child: () => logger };
  return logger;
}

async function startProxy(leafCertificates: ProxyOptions['leafCertificates'], warnings: string[] = []): Promise<GatewayProxy> {
  const { cert, key } = await generateCa(30, new Date());
  const ca = { cert, key, certPath: '', keyPath: '', spki: '', notAfter: new Date(Date.now() + 30 * 86_400_000) } satisfies CertificateAuthority;
  return createProxy({
    port: 0,
    ca,
    activePlugins: () => [],
    capabilities: createCapabilityIssuer(), bridgeSecret: 'unused-test-secret-0123456789',
    logger: recordingLogger(warnings),
    version: '0.0.0',
    apiPort: () => 1,
    cspMode: 'strip',
    trustedTestHosts: [],
    leafCertificates,
  });
}

/** A TLS handshake through a CONNECT tunnel (to a port nothing listens on: no request goes upstream). */
function handshake(proxy: GatewayProxy, servername: string): Promise<{ names: string } | { error: string }> {
  return new Promise((resolve) => {
    const tunnel = request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: `${servername}:443` });
    tunnel.on('connect', (_response, socket) => {
      const session = tlsConnect({ socket, servername, rejectUnauthorized: false }, () => {
        resolve({ names: session.getPeerCertificate().subjectaltname ?? '' });
        session.destroy();
      });
      session.on('error', (error) => resolve({ error: error.message }));
    });
    tunnel.on('error', (error) => resolve({ error: error.message }));
    tunnel.end();
  });
}

/** Live `tls.SecureContext` objects in this process after a full GC: what the proxy keeps. */
async function liveSecureContexts(): Promise<number> {
  collectGarbage();
  const session = new Session();
  session.connect();
  try {
    (globalThis as { __secureContextPrototype?: object }).__secureContextPrototype = Object.getPrototypeOf(createSecureContext());
    const prototype = await session.post('Runtime.evaluate', { expression: 'globalThis.__secureContextPrototype' });
    const found = await session.post('Runtime.queryObjects', { prototypeObjectId: prototype.result.objectId! });
    const count = await session.post('Runtime.callFunctionOn', { functionDeclaration: 'function () { return this.length; }', objectId: found.objects.objectId!, returnByValue: true });
    return count.result.value as number;
  } finally {
    delete (globalThis as { __secureContextPrototype?: object }).__secureContextPrototype;
    session.disconnect();
  }
}

/**
 * What the proxy keeps once the flood's last connections are gone. The count is of every secure
 * context in this process: a TLS socket (the proxy's side, and this test's client side, which
 * makes a context per connection) holds one until it is released, and the last handshakes' may
 * not be yet when the flood returns (once in CI: 32 counted for a cache of 20). Counted again for
 * up to 2 s while above `bound`; a cache that keeps more stays above it.
 */
async function keptAfterFlood(before: number, bound: number): Promise<number> {
  let kept = (await liveSecureContexts()) - before;
  for (let attempt = 0; kept > bound && attempt < 20; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    kept = (await liveSecureContexts()) - before;
  }
  return kept;
}

describe('leaf certificates', () => {
  const proxies: GatewayProxy[] = [];
  after(async () => {
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  });

  /** Opens `count` handshakes, 16 at a time (16 browsers' worth of parallel tunnels), each to a new name. */
  async function flood(proxy: GatewayProxy, count: number, prefix: string): Promise<number> {
    let next = 0;
    let minted = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const name = `${prefix}-${next++}.flood.example`;
          const result = await handshake(proxy, name);
          if ('names' in result && result.names === `DNS:${name}`) minted += 1;
        }
      }),
    );
    return minted;
  }

  it('keep memory flat under a flood of 3,000 distinct host names', async (t) => {
    const proxy = await startProxy({ cacheSize: 100, mintsPerSecond: 0.001, mintBurst: 200 });
    proxies.push(proxy);
    const before = await liveSecureContexts();
    const minted = await flood(proxy, 3000, 'page');
    const kept = await keptAfterFlood(before, 100 + 5);
    t.diagnostic(`minted ${minted} of 3000, secure contexts kept after the flood: ${kept}`);
    assert.equal(minted, 200, 'the burst was minted, the rest refused');
    assert.ok(kept <= 100 + 5, `${kept} certificates kept for a cache of 100`);
  });

  it('stay bounded by the cache size when every name may be minted', async (t) => {
    const proxy = await startProxy({ cacheSize: 20, mintsPerSecond: 1_000_000, mintBurst: 1_000_000 });
    proxies.push(proxy);
    const before = await liveSecureContexts();
    const minted = await flood(proxy, 300, 'slow');
    const kept = await keptAfterFlood(before, 20 + 5);
    t.diagnostic(`minted ${minted} of 300, secure contexts kept: ${kept}`);
    assert.equal(minted, 300);
    assert.ok(kept <= 20 + 5, `${kept} certificates kept for a cache of 20`);
    // The most recently used name is still served (from the cache: nothing new is kept).
    assert.deepEqual(await handshake(proxy, 'slow-299.flood.example'), { names: 'DNS:slow-299.flood.example' });
  });

  it('are minted at a bounded rate: beyond the burst a handshake is refused cleanly, cached names still work', async () => {
    const warnings: string[] = [];
    const proxy = await startProxy({ cacheSize: 50, mintsPerSecond: 0.001, mintBurst: 5 }, warnings);
    proxies.push(proxy);
    const printed: unknown[] = [];
    const { log, error } = console;
    console.log = (...args: unknown[]) => void printed.push(args);
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      for (let i = 0; i < 5; i += 1) assert.deepEqual(await handshake(proxy, `site-${i}.example`), { names: `DNS:site-${i}.example` });
      const refused = await handshake(proxy, 'one-too-many.example');
      assert.ok('error' in refused, `the sixth new name was refused (got ${JSON.stringify(refused)})`);
      assert.deepEqual(await handshake(proxy, 'site-0.example'), { names: 'DNS:site-0.example' }, 'a cached name costs no mint');
      assert.ok('error' in (await handshake(proxy, 'one-too-many.example')));
    } finally {
      console.log = log;
      console.error = error;
    }
    assert.deepEqual(printed, [], 'mockttp printed nothing (no stack traces per refused handshake)');
    assert.equal(warnings.filter((line) => /rate limit/i.test(line)).length, 1, `one warning for the episode: ${warnings.join(' | ')}`);
  });

  it('are never minted for an IP literal or a malformed name', async () => {
    const proxy = await startProxy({ cacheSize: 10, mintsPerSecond: 10, mintBurst: 10 });
    proxies.push(proxy);
    for (const name of ['127.0.0.5', 'bad..name.example', `${'a'.repeat(64)}.example`]) {
      const result = await handshake(proxy, name);
      assert.ok('error' in result, `${name}: ${JSON.stringify(result)}`);
    }
  });
});
