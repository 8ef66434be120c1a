import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { Hono } from 'hono';
import { z } from 'zod';
import { tokensEqual } from '../api/token-compare.js';
import { ApiError, parseJsonBody } from '../api/api-error.js';
import { SESSION_KEY_PARAM } from './page/session-names.js';
import type { ApiEnv } from '../api/api-env.js';
import { builtExtensionDir } from '../browser/browser-args.js';
import { readBrowserBundle } from '../built-assets.js';
import { codePath } from '../package-paths.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { Logger } from '../events/logger.js';
import { readSavedProxyState } from '../system-proxy/system-proxy.js';
import { caIdentity } from '../trust/ca-identity.js';
import { defaultStoreIds, installCa, TRUST_WARNING, trustStatus, uninstallCa, type CaTrustOptions } from '../trust/ca-trust.js';
import { TRUST_STORE_IDS } from '../trust/trust-store.js';
import type { DashboardAuth } from './dashboard-auth.js';
import type { BrowserLauncher } from './browser-launcher.js';

/**
 * The dashboard's static files, read once: its HTML and CSS sit next to this module; its script is
 * the esbuild bundle of page/main.ts (`npm run build`).
 */
const readAsset = (file: string) => readFileSync(codePath(`dashboard/${file}`), 'utf8');
const ASSETS: Record<string, { read: () => string; type: string }> = {
  'dashboard.js': { read: () => readBrowserBundle('dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { read: () => readAsset('page/dashboard.css'), type: 'text/css; charset=utf-8' },
};

/** The dashboard shows the API token: no framing, no third-party anything. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer, form posts carry `Origin: null` and the guard refuses them.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export interface DashboardOptions {
  auth: DashboardAuth;
  token: string;
  version: string;
  ca: CertificateAuthority;
  dataDir: string;
  logger: Logger;
  /** Addresses and process facts, known once the servers listen. */
  overview: () => { apiUrl: string; proxyUrl: string; apiPort: number; proxyPort: number };
  /** Stops the whole gateway (POST /api/shutdown, `aiplugs stop`, the dashboard's Stop button). */
  requestShutdown: () => void;
  /** Trust-store options (tests point HOME elsewhere). */
  trust?: Partial<CaTrustOptions>;
  /** The "Launch browser" button's launcher; without one the route says it is not available. */
  browser?: BrowserLauncher;
}

function loginPage(message: string | null): string {
  const note = message ? `<p class="error">${message}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>AiPlugs - sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/dashboard/dashboard.css"></head>
<body class="login"><main><h1>AiPlugs dashboard</h1>${note}
<p>Open the one-time link that <code>aiplugs start</code> or <code>aiplugs dashboard</code> prints, or paste the API token (<code>aiplugs status --token</code>):</p>
<form method="post" action="/login"><label>API token <input name="token" type="password" autocomplete="off" required autofocus></label> <button>Sign in</button></form>
</main></body></html>`;
}

/**
 * The dashboard's pages: `GET /` (the dashboard, token-protected by the API guard, which sends a
 * browser without a session to `/login`), `GET|POST /login`, `POST /logout` and the static assets.
 */
export function dashboardPages(options: DashboardOptions) {
  const html = readAsset('page/index.html');
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([name, asset]) => [name, { body: asset.read(), type: asset.type }]));
  const signIn = (c: { header: (name: string, value: string) => void; redirect: (url: string, status: 303) => Response }) => {
    const { session, key } = options.auth.createSession();
    c.header('set-cookie', options.auth.sessionCookie(session));
    return c.redirect(`/#${SESSION_KEY_PARAM}=${key}`, 303);
  };
  return new Hono<ApiEnv>()
    .get('/', (c) => c.html(html, 200, PAGE_HEADERS))
    .get('/dashboard/:asset', (c) => {
      const asset = assets[c.req.param('asset')];
      if (!asset) throw new ApiError(404, 'not_found', 'No such dashboard file');
      return c.body(asset.body, 200, { ...PAGE_HEADERS, 'content-type': asset.type });
    })
    .get('/login', (c) => {
      const code = c.req.query('code');
      if (code && options.auth.redeemLoginCode(code)) {
        options.logger.info('Dashboard: signed in with a one-time link');
        return signIn(c);
      }
      return c.html(loginPage(code ? 'That login link was already used or has expired. Get a new one with `aiplugs dashboard`.' : null), code ? 401 : 200, PAGE_HEADERS);
    })
    .post('/login', async (c) => {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const given = typeof form.token === 'string' ? form.token.trim() : '';
      if (given && tokensEqual(given, options.token)) {
        options.logger.info('Dashboard: signed in with the API token');
        return signIn(c);
      }
      return c.html(loginPage('That is not the API token of this gateway.'), 401, PAGE_HEADERS);
    })
    .post('/logout', (c) => {
      options.auth.endSession(c.req.header('cookie'));
      c.header('set-cookie', `${options.auth.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
      return c.redirect('/login', 303);
    });
}

const installBody = z.object({ stores: z.array(z.enum(TRUST_STORE_IDS)).min(1).optional() });
/** Only a web page: anything else on a browser's command line could be a flag. */
const launchBody = z.strictObject({ url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) address like https://example.com' }).max(2048).optional() });

/**
 * The dashboard's JSON routes, mounted at `/api` (token or session): overview, pairing token,
 * login links for the CLI, CA trust status/install/uninstall, `POST /api/dashboard/browser`
 * (`{url?}`: start a browser wired to the gateway) and `POST /api/shutdown`.
 */
export function dashboardApi(options: DashboardOptions) {
  const startedAt = new Date();
  const trustOptions = (): CaTrustOptions => ({ dataDir: options.dataDir, home: homedir(), ...options.trust });
  const identity = () => caIdentity(options.ca.certPath, options.ca.cert);
  return new Hono<ApiEnv>()
    .get('/dashboard/overview', async (c) => {
      const systemProxy = await readSavedProxyState(options.dataDir).catch(() => null);
      return c.json({
        version: options.version,
        ...options.overview(),
        caCertPath: options.ca.certPath,
        caSpki: options.ca.spki,
        caNotAfter: options.ca.notAfter.toISOString(),
        dataDir: options.dataDir,
        pid: process.pid,
        platform: process.platform,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        extensionBuilt: builtExtensionDir() !== null,
        systemProxy: systemProxy ? { target: systemProxy.target, setAt: systemProxy.setAt, backend: systemProxy.backend } : null,
      });
    })
    .get('/dashboard/pairing', (c) => c.json({ token: options.token, apiUrl: options.overview().apiUrl }))
    .post('/dashboard/login-link', (c) => c.json({ url: `${options.overview().apiUrl}/login?code=${options.auth.mintLoginCode()}` }))
    .get('/dashboard/ca', async (c) => c.json({ warning: TRUST_WARNING, defaultStores: defaultStoreIds(trustOptions().platform), ...(await trustStatus(identity(), trustOptions())) }))
    .post('/dashboard/ca/install', async (c) => {
      const body = await parseJsonBody(c, installBody);
      const stores = body.stores ?? defaultStoreIds(trustOptions().platform);
      const changes = await installCa(identity(), stores, trustOptions());
      for (const change of changes) {
        const line = `CA ${change.outcome} in ${change.store} ${change.location}${change.error ? `: ${change.error}` : ''}`;
        if (change.outcome === 'failed') options.logger.warn(line);
        else options.logger.info(line);
      }
      return c.json({ changes });
    })
    .post('/dashboard/ca/uninstall', async (c) => {
      const changes = await uninstallCa(trustOptions());
      for (const change of changes) options.logger.info(`CA ${change.outcome} from ${change.store} ${change.location}${change.error ? `: ${change.error}` : ''}`);
      return c.json({ changes });
    })
    .post('/dashboard/browser', async (c) => {
      const body = await parseJsonBody(c, launchBody);
      if (!options.browser) throw new ApiError(404, 'not_available', 'This gateway cannot launch a browser');
      return c.json(await options.browser.launch(body.url), 201);
    })
    .post('/shutdown', (c) => {
      options.logger.info('Shutdown requested through the API');
      setImmediate(options.requestShutdown);
      return c.json({ stopping: true }, 202);
    });
}
