import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { z } from 'zod';
import { tokenProof } from '../../gateway/src/pairing/token-proof.js';
import { detectProxyBackend } from '../../gateway/src/system-proxy/system-proxy.js';
import { skipUnlessInstalled, TOOLS } from '../../test/support/required-tools.js';
import { startGatewayProcess, type GatewayChild } from '../support/gateway-process.js';
import { runCli } from './run-cli.js';

// The gateway died (kill -9, as after an out-of-memory kill), so its runtime.json stayed behind,
// and another local account now listens on the ports it names, answering the public health route
// as AiPlugs would. The CLI commands that talk to a running gateway must not take that for the
// gateway: the token is made once per install, so whoever hears it holds the user's gateway.

test.describe.configure({ timeout: 120_000 });

let dataDir: string;
let crashed: GatewayChild;
let xdg: string;
let staleRuntime: string;
const heard: Array<{ port: number; method: string; url: string; authorization: string }> = [];
const squatters: Server[] = [];
const env = () => ({ GSETTINGS_BACKEND: 'keyfile', XDG_CONFIG_HOME: xdg });

/**
 * While `proveWith` holds a token, the squatter answers the proof with it: the gateway proved it
 * holds the token, and exited before the command's next call, which met the squatter instead.
 */
let proveWith: string | null = null;

async function squat(port: number, apiPort: number, proxyPort: number): Promise<void> {
  const server = createServer(async (request: IncomingMessage, response) => {
    heard.push({ port, method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization ?? '' });
    if (request.url === '/api/pairing/proof' && proveWith) {
      const { nonce } = z.object({ nonce: z.string() }).parse(await json(request));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ proof: await tokenProof(proveWith, apiPort, nonce) }));
      return;
    }
    request.resume();
    if (request.url === '/api/health') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'ok', name: 'aiplugs', version: '0.1.0', apiPort, proxyPort, uptimeSeconds: 5 }));
      return;
    }
    // What the gateway would say to whatever the command asks next: every call "succeeds".
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: true, url: 'http://127.0.0.1/', plugins: [], proof: 'x'.repeat(43) }));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  squatters.push(server);
}

test.beforeAll(async () => {
  xdg = await mkdtemp(join(tmpdir(), 'aiplugs-gsettings-'));
  dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-stale-'));
  crashed = await startGatewayProcess({ dataDir, env: env() });
  process.kill(crashed.pid, 'SIGKILL');
  await once(crashed.child, 'exit');
  staleRuntime = await readFile(join(dataDir, 'runtime.json'), 'utf8');
  await squat(crashed.ready.apiPort, crashed.ready.apiPort, crashed.ready.proxyPort);
  await squat(crashed.ready.proxyPort, crashed.ready.apiPort, crashed.ready.proxyPort);
});

// `aiplugs stop` removes a runtime.json whose pid is gone: each test starts from the crash's.
test.beforeEach(async () => {
  heard.length = 0;
  await writeFile(join(dataDir, 'runtime.json'), staleRuntime);
});

test.afterAll(async () => {
  for (const server of squatters) server.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(xdg, { recursive: true, force: true });
});

for (const command of [['status'], ['stop'], ['dashboard'], ['plugins', 'list']]) {
  test(`\`aiplugs ${command.join(' ')}\` says no gateway runs, and sends the token nowhere`, async () => {
    const token = await crashed.token();
    const result = await runCli([...command, '--data-dir', dataDir], env());
    expect(heard.some((request) => request.url === '/api/health'), 'the command asked the squatter whether it is the gateway').toBe(true);
    expect(heard.map((request) => request.authorization).filter((authorization) => authorization.includes(token)), JSON.stringify(heard)).toEqual([]);
    expect(heard.filter((request) => request.url !== '/api/health' && request.url !== '/api/pairing/proof'), 'only the public routes were asked').toEqual([]);
    if (command[0] !== 'plugins') expect(result.code, result.stdout + result.stderr).toBe(4); // `plugins list` falls back to the folder
  });
}

for (const command of [['stop'], ['dashboard'], ['plugins', 'list']]) {
  test(`\`aiplugs ${command.join(' ')}\` never sends the token itself, even to a server that took the port after the gateway proved itself`, async () => {
    // Its calls are signed for that one request instead: whoever hears one cannot use it again.
    const token = await crashed.token();
    proveWith = token;
    try {
      await runCli([...command, '--data-dir', dataDir], env());
    } finally {
      proveWith = null;
    }
    const calls = heard.filter((request) => request.url !== '/api/health' && request.url !== '/api/pairing/proof');
    expect(calls.length, 'the command took the squatter for the gateway and called it').toBeGreaterThan(0);
    expect(calls.map((request) => request.authorization), JSON.stringify(heard)).toEqual(calls.map(() => expect.stringMatching(/^AiPlugs-Signed /)));
    expect(heard.filter((request) => request.authorization.includes(token)), JSON.stringify(heard)).toEqual([]);
  });
}

test('`aiplugs proxy set` does not point the system proxy at the other account', async () => {
  test.skip(process.platform !== 'linux', 'GNOME proxy settings are a Linux desktop thing');
  const missing = await skipUnlessInstalled(TOOLS.gsettings, TOOLS.gnomeProxySchema);
  test.skip(missing !== false, `GNOME proxy settings not available here: ${missing}`);
  expect((await detectProxyBackend({ env: env() })).backend).not.toBeNull();
  const gs = (...args: string[]) => execFileSync('gsettings', args, { env: { ...process.env, ...env() }, encoding: 'utf8' }).trim();
  gs('set', 'org.gnome.system.proxy', 'mode', 'none');
  const result = await runCli(['proxy', 'set', '--data-dir', dataDir], env());
  expect(heard.some((request) => request.url === '/api/health'), 'the command asked the squatter whether it is the gateway').toBe(true);
  expect(result.code, result.stdout + result.stderr).toBe(4);
  expect(gs('get', 'org.gnome.system.proxy', 'mode')).toBe("'none'");
});

async function json(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
