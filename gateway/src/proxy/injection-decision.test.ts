import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCACertificate } from 'mockttp';
import { createCapabilityIssuer } from '../bridge/page-capability.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { SKIP_REASONS, type InjectionActivity } from '../events/activity-events.js';
import type { Logger } from '../events/logger.js';
import { createPluginRegistry, type PluginRegistry } from '../plugins/plugin-registry.js';
import { activePlugins, whyNoPlugins } from '../settings/active-plugins.js';
import type { Settings } from '../settings/settings-store.js';
import { createProxy, type GatewayProxy } from './create-proxy.js';
import { injectionDecision, type Refusal } from './injection-decision.js';
import { PLUGIN_FREE_HEADER } from './plugin-free-load.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const navigate = { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', accept: 'text/html' };
const html = { 'content-type': 'text/html' };
const NO_SETTINGS: Settings = { paused: false, disabled_sites: [], plugin_disabled_sites: {}, plugin_modes: {}, plugin_allowed_secrets: {}, webai_cloud_origins: [] };

/** A real registry with one plugin that runs on every URL whose path starts with /app/. */
async function appRegistry(): Promise<{ registry: PluginRegistry; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-decisions-'));
  await mkdir(join(root, 'app'));
  await writeFile(join(root, 'app', 'content.js'), '// content');
  await writeFile(
    join(root, 'app', 'manifest.json'),
    JSON.stringify({ manifest_version: 3, id: 'app', name: 'App', version: '1.0.0', content_scripts: [{ matches: ['*://*/app/*'], js: ['content.js'] }] }),
  );
  return { registry: await createPluginRegistry({ pluginsDir: root }), root };
}

describe('injectionDecision', () => {
  const explain = () => 'no-match' as const;
  it('an injected document names its plugins and the CSP mode, and drops query and fragment', () => {
    const decision = injectionDecision('https://a.test/p?token=secret#x', { statusCode: 200, headers: html }, ['echo'], null, { cspMode: 'nonce', explainNoPlugins: explain });
    assert.deepEqual(decision, { type: 'injection', url: 'https://a.test/p', status: 200, plugins: ['echo'], reason: null, csp: 'nonce' });
  });

  it('says why not, in the order the proxy checks: a plugin-free load, encoding, response type, then the switches', () => {
    const skipped = (statusCode: number, headers: Record<string, string>, refused: Refusal | null, why: () => null | 'paused') =>
      injectionDecision('https://a.test/', { statusCode, headers }, null, refused, { cspMode: 'strip', explainNoPlugins: why }).reason;
    assert.equal(skipped(404, html, 'plugin-free', () => 'paused'), 'plugin-free');
    assert.equal(skipped(200, html, 'undecodable', () => 'paused'), 'undecodable');
    // Found in the body, once the document streams: an XHTML shape with no safe place for the markup.
    assert.equal(skipped(200, { 'content-type': 'application/xhtml+xml' }, 'unsupported-xhtml', () => null), 'unsupported-xhtml');
    assert.match(SKIP_REASONS['unsupported-xhtml'], /XHTML/);
    assert.equal(skipped(404, html, null, () => 'paused'), 'not-html');
    assert.equal(skipped(200, { 'content-type': 'application/pdf' }, null, () => 'paused'), 'not-html');
    assert.equal(skipped(200, html, null, () => 'paused'), 'paused');
    // Plugins would run but nothing was planned: the charset check refused it, or the site's sandbox (kept in nonce mode).
    assert.equal(skipped(200, { 'content-type': 'text/html; charset=utf-16' }, null, () => null), 'unsupported-charset');
    const sandboxed = { ...html, 'content-security-policy': 'sandbox allow-scripts' };
    assert.equal(injectionDecision('https://a.test/', { statusCode: 200, headers: sandboxed }, null, null, { cspMode: 'nonce', explainNoPlugins: () => null }).reason, 'sandboxed');
  });
});

describe('whyNoPlugins', () => {
  let registry: PluginRegistry;
  let root: string;
  before(async () => ({ registry, root } = await appRegistry()));
  after(() => rm(root, { recursive: true, force: true }));

  it('names the switch that stopped the injection, and null when a plugin would run', () => {
    assert.equal(whyNoPlugins(registry, NO_SETTINGS, 'https://a.test/app/x'), null);
    assert.equal(whyNoPlugins(registry, NO_SETTINGS, 'https://a.test/other'), 'no-match');
    assert.equal(whyNoPlugins(registry, { ...NO_SETTINGS, paused: true }, 'https://a.test/app/x'), 'paused');
    assert.equal(whyNoPlugins(registry, { ...NO_SETTINGS, disabled_sites: ['a.test'] }, 'https://a.test/app/x'), 'site-disabled');
    assert.equal(whyNoPlugins(registry, { ...NO_SETTINGS, plugin_disabled_sites: { app: ['*'] } }, 'https://a.test/app/x'), 'disabled-on-site');
  });

  it('agrees with activePlugins: a reason exactly when nothing is active', () => {
    const settingsCases: Settings[] = [NO_SETTINGS, { ...NO_SETTINGS, paused: true }, { ...NO_SETTINGS, disabled_sites: ['*.test'] }, { ...NO_SETTINGS, plugin_disabled_sites: { app: ['a.test'] } }];
    for (const settings of settingsCases) {
      for (const url of ['https://a.test/app/x', 'https://b.test/app/', 'https://a.test/']) {
        assert.equal(whyNoPlugins(registry, settings, url) === null, activePlugins(registry, settings, url).length > 0, `${url} ${JSON.stringify(settings)}`);
      }
    }
  });
});

describe('the proxy reports one decision per document', () => {
  let site: Server;
  let origin: string;
  let proxy: GatewayProxy;
  let registry: PluginRegistry;
  let root: string;
  const decisions: InjectionActivity[] = [];
  let settings: Settings = NO_SETTINGS;

  before(async () => {
    ({ registry, root } = await appRegistry());
    site = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      if (path.endsWith('.pdf')) response.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF');
      else if (path.endsWith('.png')) response.writeHead(200, { 'content-type': 'image/png' }).end('png');
      else response.writeHead(200, html).end('<!doctype html><html><head></head><body>hi</body></html>');
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    proxy = await createProxy({
      port: 0,
      ca: (await generateCACertificate()) as unknown as CertificateAuthority,
      activePlugins: (url) => activePlugins(registry, settings, url),
      capabilities: createCapabilityIssuer(),
      bridgeSecret: 'decision-test-secret-0123456789',
      logger: silent,
      version: '0.0.0',
      apiPort: () => 1,
      cspMode: 'nonce',
      trustedTestHosts: [],
      decisions: { explainNoPlugins: (url) => whyNoPlugins(registry, settings, url), onDecision: (decision) => decisions.push(decision) },
    });
  });
  after(async () => {
    await proxy.stop();
    site.closeAllConnections();
    site.close();
    await rm(root, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string>) =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxy.port, path: `${origin}${path}`, headers: { host: new URL(origin).host, ...headers } }, (res) => res.resume().on('end', resolve));
      req.on('error', reject).end();
    });

  it('injected, no match, paused, not HTML, plugin-free; nothing for sub-resources; never a query string', async () => {
    await get('/app/page?session=secret', navigate);
    await get('/elsewhere', navigate);
    await get('/app/file.pdf', navigate);
    // A script's or image's fetch is not a document: no decision at all.
    await get('/app/logo.png', { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors', accept: 'image/*' });
    settings = { ...NO_SETTINGS, paused: true };
    await get('/app/page', navigate);
    settings = NO_SETTINGS;
    await get('/app/page', { ...navigate, [PLUGIN_FREE_HEADER]: '1' });
    assert.deepEqual(
      decisions.map(({ url, plugins, reason, csp }) => ({ path: url.slice(origin.length), plugins, reason, csp })),
      [
        { path: '/app/page', plugins: ['app'], reason: null, csp: 'nonce' },
        { path: '/elsewhere', plugins: [], reason: 'no-match', csp: null },
        { path: '/app/file.pdf', plugins: [], reason: 'not-html', csp: null },
        { path: '/app/page', plugins: [], reason: 'paused', csp: null },
        { path: '/app/page', plugins: [], reason: 'plugin-free', csp: null },
      ],
    );
    assert.ok(decisions.every((decision) => !decision.url.includes('secret')));
  });
});
