/**
 * Security checklist 1 — binding and trust.
 * The API and the proxy accept connections on 127.0.0.1 only, and the gateway refuses to run
 * when it cannot be sure of that (no mockttp patch); the CA is unique per install, its key is
 * private (0600) and no route serves it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { withUnpatchedMockttp } from '../support/unpatched-mockttp.js';

/** Resolves 'connected' or the error code; only loopback addresses are ever dialled. */
function dial(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Local addresses of listening TCP sockets on `port`, from /proc (no traffic needed). */
async function listeningAddresses(port: number): Promise<string[]> {
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  const table6 = await readFile('/proc/net/tcp6', 'utf8').catch(() => '');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return [...table.split('\n'), ...table6.split('\n')]
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
    .map((fields) => fields[1]?.split(':')[0] ?? '');
}

let gateway: GatewayChild;
let second: GatewayChild;

before(async () => {
  gateway = await startGatewayProcess();
  second = await startGatewayProcess();
});
after(async () => {
  await gateway?.stop();
  await second?.stop();
});

describe('binding', () => {
  it('a control server on all interfaces is reachable on 127.0.0.2 (so the check below means something)', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const { port } = server.address() as { port: number };
    assert.equal(await dial('127.0.0.2', port), 'connected');
    server.close();
  });

  for (const which of ['apiPort', 'proxyPort'] as const) {
    it(`the ${which === 'apiPort' ? 'API' : 'proxy'} accepts 127.0.0.1 and refuses every other address`, async () => {
      const port = gateway.ready[which];
      assert.equal(await dial('127.0.0.1', port), 'connected');
      assert.equal(await dial('127.0.0.2', port), 'ECONNREFUSED');
      // 0100007F is 127.0.0.1 in /proc's little-endian hex: nothing listens on 0.0.0.0 or ::.
      if ((await readFile('/proc/net/tcp', 'utf8').catch(() => null)) !== null) assert.deepEqual(await listeningAddresses(port), ['0100007F']);
    });
  }
});

describe('a gateway whose mockttp lacks our patch (npm install --ignore-scripts, failed patch-package)', () => {
  it('refuses to start: exit 1, names the missing changes, never prints a ready line', async () => {
    // Unpatched, mockttp listens on every interface while the gateway prints 127.0.0.1.
    const outcome = await startGatewayProcess({ env: withUnpatchedMockttp() }).then(
      async (started) => {
        const address = started.ready.proxyUrl;
        await started.stop();
        return `started (proxy ${address})`;
      },
      (error: Error) => error.message,
    );
    assert.match(outcome, /^gateway exited with 1 before ready/);
    assert.match(outcome, /aiplugs: mockttp in .* lacks our patch patches\/mockttp\+[\d.]+\.patch: missing listen-host \(listen on 127\.0\.0\.1 only\)/);
    assert.doesNotMatch(outcome, /\n\s+at /, 'one clear line, no stack trace');
  });
});

describe('certificate authority', () => {
  it('is unique per install and its key is private', async () => {
    assert.notEqual(gateway.ready.caSpki, second.ready.caSpki);
    const key = await stat(`${gateway.dataDir}/ca.key`);
    assert.equal(key.mode & 0o777, 0o600);
    assert.equal((await stat(gateway.dataDir)).mode & 0o077, 0, 'data dir is private to the user');
    assert.equal((await stat(`${gateway.dataDir}/token`)).mode & 0o777, 0o600);
    assert.equal((await stat(`${gateway.dataDir}/no-sni-certificate.json`)).mode & 0o777, 0o600, 'the stored leaf key too');
  });

  it('is reused on restart (same SPKI), and so is the certificate for clients without SNI', async () => {
    // One gateway per data dir: the first must be gone before the restart.
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-ca-restart-'));
    try {
      const first = await startGatewayProcess({ dataDir });
      // The fingerprint, or the handshake error.
      const noSniFingerprint = async (proxyPort: number) => {
        const leaf = await leafCertificate(proxyPort, undefined);
        return typeof leaf === 'string' ? leaf : leaf.fingerprint256;
      };
      const firstNoSni = await noSniFingerprint(first.ready.proxyPort);
      await first.stop();
      const again = await startGatewayProcess({ dataDir });
      const againNoSni = await noSniFingerprint(again.ready.proxyPort);
      await again.stop();
      assert.equal(again.ready.caSpki, first.ready.caSpki);
      // Kept in the data dir, so that a start mints nothing (ca/no-sni-certificate.ts).
      assert.match(firstNoSni, /^[0-9A-F:]{95}$/);
      assert.equal(againNoSni, firstNoSni, 'the same certificate for clients without SNI');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('no API route serves the CA key', async () => {
    const key = (await readFile(`${gateway.dataDir}/ca.key`, 'utf8')).split('\n')[1] ?? '';
    const token = await gateway.token();
    for (const path of ['/api/ca.pem', '/api/ca.key', '/ca.key', '/api/health', '/api/plugins/echo/files/../../../ca.key', '/api/settings']) {
      const response = await fetch(`${gateway.ready.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.ok(!(await response.text()).includes(key), path);
    }
  });
});

/**
 * Opens a TLS session through the proxy (CONNECT to a loopback target, no request is ever sent
 * upstream) and returns the leaf certificate, or the handshake error.
 */
function leafCertificate(proxyPort: number, sni: string | undefined): Promise<PeerCertificate | string> {
  return new Promise((resolve) => {
    const connectRequest = request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: '127.0.0.1:9' });
    connectRequest.on('connect', (_response, socket) => {
      const session = tlsConnect({ socket, servername: sni, rejectUnauthorized: false }, () => {
        resolve(session.getPeerCertificate());
        session.destroy();
      });
      session.on('error', (error) => resolve(`error: ${error.message}`));
    });
    connectRequest.on('error', (error) => resolve(`error: ${error.message}`));
    connectRequest.end();
  });
}

/** The leaf certificate's names, or the handshake error. */
async function leafNames(proxyPort: number, sni: string | undefined): Promise<string> {
  const leaf = await leafCertificate(proxyPort, sni);
  return typeof leaf === 'string' ? leaf : (leaf.subjectaltname ?? '');
}

describe('leaf certificates', () => {
  it('name exactly the host the client asked for', async () => {
    assert.equal(await leafNames(gateway.ready.proxyPort, 'shop.example'), 'DNS:shop.example');
  });

  it('are never issued for an IP literal, nor for a real name when the client sent none', async () => {
    assert.match(await leafNames(gateway.ready.proxyPort, '127.0.0.5'), /^error: /);
    assert.equal(await leafNames(gateway.ready.proxyPort, undefined), 'DNS:no-sni.aiplugs.invalid');
  });

  it('share no key with the certificate for clients without SNI, whose key is stored in the data dir', async () => {
    const site = await leafCertificate(gateway.ready.proxyPort, 'shop.example');
    const noSni = await leafCertificate(gateway.ready.proxyPort, undefined);
    assert.ok(typeof site !== 'string' && typeof noSni !== 'string', `${String(site)} ${String(noSni)}`);
    assert.ok(site.pubkey && noSni.pubkey);
    assert.notDeepEqual(site.pubkey, noSni.pubkey);
  });
});
