import assert from 'node:assert/strict';
import type { SecureContext } from 'node:tls';
import { describe, it } from 'node:test';
import { generateCa } from '../ca/certificate-authority.js';
import { createLeafMinter, type MintLeaf } from '../ca/leaf-certificate.js';
import type { Logger } from '../events/logger.js';
import { createLeafCertificateCache, isMintableHostName } from './leaf-certificate-cache.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const ca = await generateCa(30, new Date());
const realMint = await createLeafMinter(ca);

/** Calls the SNI callback the way a plain caller would (no TLSSocket as `this`). */
function sni(callback: (name: string, done: (error: Error | null, context?: SecureContext) => void) => void, name: string): Promise<SecureContext | Error> {
  return new Promise((resolve) => callback(name, (error, context) => resolve(error ?? (context as SecureContext))));
}

describe('isMintableHostName', () => {
  it('accepts DNS names and refuses IP literals, empty or oversized labels', () => {
    for (const name of ['example.com', 'a.b-c.example', 'xn--bcher-kva.example', '_dmarc.example', 'localhost', `${'a'.repeat(63)}.example`]) {
      assert.ok(isMintableHostName(name), name);
    }
    for (const name of ['', '127.0.0.1', '::1', 'a..b', '.example', 'example.', '-a.example', 'a-.example', 'UPPER.example', 'sp ace.example', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}a`]) {
      assert.ok(!isMintableHostName(name), name);
    }
  });
});

describe('createLeafCertificateCache', () => {
  it('mints each name once, shares a mint between concurrent handshakes and keeps at most cacheSize', async () => {
    const minted: string[] = [];
    const mint: MintLeaf = (host) => (minted.push(host), realMint(host));
    const cache = createLeafCertificateCache({ mint, logger: silent, cacheSize: 2, mintsPerSecond: 1000, mintBurst: 1000 });
    const [first, second] = await Promise.all([sni(cache.SNICallback, 'a.example'), sni(cache.SNICallback, 'A.example')]);
    assert.equal(first, second, 'one context for both handshakes (names are case-insensitive)');
    await sni(cache.SNICallback, 'b.example');
    await sni(cache.SNICallback, 'a.example');
    await sni(cache.SNICallback, 'c.example');
    assert.equal(cache.size(), 2);
    await sni(cache.SNICallback, 'a.example'); // recently used: still cached
    await sni(cache.SNICallback, 'b.example'); // evicted by c: minted again
    assert.deepEqual(minted, ['a.example', 'b.example', 'c.example', 'b.example']);
  });

  it('refuses new names beyond the burst until the bucket refills, never cached ones', async () => {
    let time = 0;
    const cache = createLeafCertificateCache({ mint: realMint, logger: silent, cacheSize: 10, mintsPerSecond: 1, mintBurst: 2, now: () => time });
    assert.ok(!((await sni(cache.SNICallback, 'a.example')) instanceof Error));
    assert.ok(!((await sni(cache.SNICallback, 'b.example')) instanceof Error));
    assert.match(String(await sni(cache.SNICallback, 'c.example')), /rate limited/);
    assert.ok(!((await sni(cache.SNICallback, 'a.example')) instanceof Error), 'cached');
    time += 1000;
    assert.ok(!((await sni(cache.SNICallback, 'c.example')) instanceof Error), 'one token after a second');
  });

  it('refuses names that are not DNS names, and a mint that fails, without caching the failure', async () => {
    let fail = true;
    const mint: MintLeaf = (host) => (fail ? Promise.reject(new Error('signing failed')) : realMint(host));
    const cache = createLeafCertificateCache({ mint, logger: silent, cacheSize: 10, mintsPerSecond: 1000, mintBurst: 1000 });
    assert.match(String(await sni(cache.SNICallback, '10.0.0.1')), /not a DNS name/);
    assert.match(String(await sni(cache.SNICallback, 'a.example')), /minting failed/);
    fail = false;
    assert.ok(!((await sni(cache.SNICallback, 'a.example')) instanceof Error));
  });
});
