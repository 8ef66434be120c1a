/**
 * Security checklist 8 and 9 — faults and crash safety. Under resets, slow clients and a burst
 * of page loads the gateway keeps answering /api/health within a second, the affected callers get
 * clear errors, memory comes back down; a kill -9 while writing settings corrupts nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, REPO_ROOT, startGatewayProcess, type GatewayChild } from '../../e2e/support/gateway-process.js';
import { NAVIGATION_HEADERS, proxiedRequest, withoutInjection } from '../../e2e/support/proxy-client.js';
import { respond, startTestSite, type TestSite } from '../../e2e/support/test-site.js';

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** /api/health must answer within a second: the deadline is the failure condition. */
async function healthWithinOneSecond(gateway: GatewayChild): Promise<void> {
  const response = await fetch(`${gateway.ready.apiUrl}/api/health`, { signal: AbortSignal.timeout(1000) });
  assert.equal(response.status, 200);
}

let gateway: GatewayChild;
let site: TestSite;
const page = `<!doctype html><html><head><title>load</title></head><body>${'<p>text</p>'.repeat(2000)}</body></html>`;

before(async () => {
  site = await startTestSite({
    '/page': respond(200, { 'content-type': 'text/html' }, page),
    '/reset': (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': '100000' });
      response.write(`<html><head></head><body>${'x'.repeat(5000)}`);
      setTimeout(() => response.socket?.destroy(), 20);
    },
  });
  gateway = await startGatewayProcess({ args: ['--plugins-dir', join(REPO_ROOT, 'e2e/fixtures/plugins')] });
});
after(async () => {
  await gateway?.stop();
  await site?.close();
});

describe('faults', () => {
  it('an upstream that resets mid-body fails that request only', async () => {
    await assert.rejects(proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/reset`, { headers: NAVIGATION_HEADERS }));
    await healthWithinOneSecond(gateway);
    const ok = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/page`, { headers: NAVIGATION_HEADERS });
    assert.equal(ok.status, 200);
  });

  it('slowloris clients on both ports do not starve anyone', async () => {
    const sockets: Socket[] = [];
    for (const port of [gateway.ready.apiPort, gateway.ready.proxyPort]) {
      for (let i = 0; i < 150; i += 1) {
        const socket = connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
        socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        sockets.push(socket);
      }
    }
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await healthWithinOneSecond(gateway);
      const ok = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/page`, { headers: NAVIGATION_HEADERS });
      assert.ok(withoutInjection(ok.body).injected.length > 0);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('200 concurrent page loads all get injected, health stays fast, memory comes back', async () => {
    const pid = gateway.pid;
    const baseline = await rssMb(pid);
    const loads = Array.from({ length: 200 }, () => proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/page`, { headers: NAVIGATION_HEADERS }));
    await healthWithinOneSecond(gateway);
    const results = await Promise.all(loads);
    for (const result of results) {
      assert.equal(result.status, 200);
      assert.ok(withoutInjection(result.body).injected.length > 0);
    }
    await healthWithinOneSecond(gateway);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const afterwards = await rssMb(pid);
    assert.ok(afterwards < baseline + 150, `RSS ${baseline.toFixed(0)} MB → ${afterwards.toFixed(0)} MB`);
  });
});

describe('crash safety', () => {
  it('kill -9 while settings are being written leaves valid settings', async () => {
    const first = await startGatewayProcess();
    const dataDir = first.dataDir;
    const token = await first.token();
    // Hammer settings writes and kill the gateway in the middle of them.
    const writes = Array.from({ length: 200 }, (_, i) =>
      fetch(`${first.ready.apiUrl}/api/settings`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ disabled_sites: Array.from({ length: 50 }, (_, j) => `site${i}-${j}.example`) }),
      }).catch(() => null),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    process.kill(first.pid, 'SIGKILL'); // the gateway itself, not a launcher in front of it
    await Promise.all([exited, ...writes]);
    const text = await readFile(join(dataDir, 'settings.json'), 'utf8').catch(() => null);
    if (text !== null) assert.doesNotThrow(() => JSON.parse(text), 'settings.json is whole');
    const restarted = await startGatewayProcess({ dataDir });
    try {
      const settings = await fetch(`${restarted.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(settings.status, 200);
      assert.doesNotMatch(restarted.log(), /settings\.json\.corrupt/);
    } finally {
      await restarted.stop();
    }
  });

  it('the CLI exits non-zero with a clear message on a bad config instead of half-starting', async () => {
    const child = spawn(process.execPath, [CLI, 'start', '--json', '--api-port', '0', '--proxy-port', '0', '--data-dir', join(gateway.dataDir, 'other')], {
      env: { ...process.env, AIPLUGS_PROXY_CSP_MODE: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 3);
    assert.match(stderr, /proxy\.csp_mode = "off" \(from environment variable AIPLUGS_PROXY_CSP_MODE\)/);
  });
});
