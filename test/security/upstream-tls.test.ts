/**
 * Security checklist 4 — upstream TLS. Certificates of the sites behind the proxy are validated:
 * expired, self-signed, wrong-host and pre-TLS-1.2 servers are blocked with a page that says why,
 * and nothing but an explicit setting relaxes that.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest } from '../../e2e/support/proxy-client.js';
import { serverCertificate, testAuthority } from './support/certificates.js';

const DAY = 86_400_000;
const servers: Server[] = [];

async function upstream(options: ServerOptions): Promise<string> {
  const server = createServer(options, (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html><head></head><body>secret page</body></html>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `https://localhost:${(server.address() as AddressInfo).port}/`;
}

let gateway: GatewayChild;
const sites: Record<string, string> = {};

before(async () => {
  const authority = await testAuthority();
  const caFile = join(await mkdtemp(join(tmpdir(), 'aiplugs-upstream-ca-')), 'ca.pem');
  await writeFile(caFile, authority.cert);
  sites.valid = await upstream(await serverCertificate({ host: 'localhost', authority }));
  sites.expired = await upstream(await serverCertificate({ host: 'localhost', authority, notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) }));
  sites.wrongHost = await upstream(await serverCertificate({ host: 'other.example', authority }));
  sites.selfSigned = await upstream(await serverCertificate({ host: 'localhost' }));
  sites.oldTls = await upstream({ ...(await serverCertificate({ host: 'localhost', authority })), maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
  gateway = await startGatewayProcess({
    args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')],
    env: { AIPLUGS_PROXY_TRUSTED_TEST_HOSTS: '', AIPLUGS_PROXY_UPSTREAM_CA_FILES: caFile },
  });
});
after(async () => {
  await gateway?.stop();
  for (const server of servers) server.close();
});

const load = (url: string) => proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, url, { headers: NAVIGATION_HEADERS });

describe('upstream TLS', () => {
  it('a valid certificate from a trusted authority loads (the control case)', async () => {
    const response = await load(sites.valid ?? '');
    assert.equal(response.status, 200);
    assert.match(response.body.toString(), /secret page/);
  });

  const blocked: Array<[string, RegExp]> = [
    ['expired', /certificate has expired/],
    ['wrongHost', /certificate is for a different host name/],
    ['selfSigned', /self-signed/],
    ['oldTls', /TLS/],
  ];
  for (const [name, reason] of blocked) {
    it(`a ${name} upstream is blocked with a page that says why`, async () => {
      const response = await load(sites[name] ?? '');
      const body = response.body.toString();
      assert.equal(response.status, 502);
      assert.equal(response.headers['x-aiplugs-error'], 'tls');
      assert.match(body, /Blocked: localhost:\d+ failed certificate checks/);
      assert.match(body, reason);
      assert.doesNotMatch(body, /secret page/);
    });
  }

  it('no host is exempt by default', async () => {
    const defaults = JSON.parse(await readFile(join(REPO_ROOT, 'config/config.json'), 'utf8'));
    assert.deepEqual(defaults.proxy.trusted_test_hosts, []);
  });

  it('an unreachable upstream gets a clear page and the gateway stays up', async () => {
    const response = await load('https://localhost:1/');
    assert.equal(response.status, 502);
    assert.match(response.body.toString(), /refused the connection/);
    assert.equal((await fetch(`${gateway.ready.apiUrl}/api/health`)).status, 200);
  });
});
