import { expect, type Browser } from '@playwright/test';
import { startModelServer, type ModelTestServer } from '../../gateway/src/models/testing/model-test-server.js';
import { buildTinyGguf } from '../../gateway/src/webai/testing/tiny-gguf.js';
import { withChromium } from '../support/chromium.js';
import { REPO_ROOT } from '../support/gateway-process.js';
import { orClose } from '../support/or-close.js';
import { respond, type Handler, type TestSite } from '../support/test-site.js';
import { CREATE_WITHOUT_GESTURE } from './native-scripts.js';
import { startExampleServers, type ExampleGateway } from '../plugins/support.js';

/** Where the default LLM declaration (config/config.json) points, path of the Hugging Face URL. */
export const DEFAULT_MODEL_PATH = '/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf';

export interface WebAiServers {
  site: TestSite;
  /** Serves the tiny generated GGUF under the default model's path (the real one is never fetched). */
  modelServer: ModelTestServer;
  gateway: ExampleGateway;
  /** Stops the gateway (expecting a clean exit), the site and the model server. */
  close(): Promise<void>;
}

export interface WebAiServerOptions {
  routes: Record<string, Handler>;
  env?: NodeJS.ProcessEnv;
  throttle: { chunkBytes: number; delayMs: number };
}

/**
 * A test site, the tiny model behind a loopback "Hugging Face" and the gateway as `npm start`
 * runs it (fixture plugins inject on localhost, so pages get the runtime and the Web AI grant):
 * everything but the browser, for any browser.
 */
export async function startWebAiServers(options: WebAiServerOptions): Promise<WebAiServers> {
  const modelServer = await startModelServer();
  modelServer.files.set(DEFAULT_MODEL_PATH, { content: buildTinyGguf({ seed: 11 }), throttle: options.throttle });
  const servers = await orClose(
    startExampleServers({
      routes: options.routes,
      pluginsDir: `${REPO_ROOT}e2e/fixtures/plugins`,
      env: { AIPLUGS_MODEL_MIRROR: modelServer.origin, AIPLUGS_WEBAI_CONTEXT_SIZE: '1024', ...options.env },
    }),
    modelServer,
  );
  return {
    ...servers,
    modelServer,
    close: async () => {
      expect(await servers.close()).toBe(0);
      await modelServer.close();
    },
  };
}

/** startWebAiServers, and Chromium through the gateway's proxy. */
export type WebAiStack = WebAiServers & { browser: Browser };

export async function startWebAiStack(options: WebAiServerOptions): Promise<WebAiStack> {
  return withChromium(await startWebAiServers(options));
}

/**
 * The conformance runs' servers, the same for every browser: `/ai` (a page with a `#go` button for
 * a real click) and `/no-gesture` (CREATE_WITHOUT_GESTURE), a model download slow enough that the
 * page sees progress between 0 and 1 (and can abort in the middle), and page downloads on: the
 * download flow itself is under test there (webai-defaults.e2e.ts proves the default refuses it).
 */
export function conformanceServerOptions(): WebAiServerOptions {
  const html = (script = '') => `<!doctype html><html><head><title>Web AI</title></head><body><button id="go">go</button><script>${script}</script></body></html>`;
  return {
    routes: {
      '/ai': respond(200, { 'content-type': 'text/html' }, html()),
      '/no-gesture': respond(200, { 'content-type': 'text/html' }, html(CREATE_WITHOUT_GESTURE)),
      // `/ai` framed twice: by this site, and from the test site at `?other=` (another origin).
      '/ai-frames': (request, response) => {
        const other = new URL(request.url ?? '/', 'https://localhost').searchParams.get('other') ?? '';
        if (!/^https:\/\/localhost:\d+$/.test(other)) return void response.writeHead(400).end();
        response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html><head><title>frames</title></head><body><iframe id="same" src="/ai"></iframe><iframe id="other" src="${other}/ai"></iframe></body></html>`);
      },
    },
    throttle: { chunkBytes: 32 * 1024, delayMs: 60 },
    // The checks make more calls in a minute than the per-site limit lets a page (its own tests: test/security/webai-access.test.ts).
    env: { AIPLUGS_WEBAI_PAGE_DOWNLOADS: 'true', AIPLUGS_WEBAI_MAX_OUTPUT_TOKENS: '48', AIPLUGS_WEBAI_PAGE_REQUESTS_PER_MINUTE: '600' },
  };
}

/** The gateway's settings, read with its token. */
export async function gatewaySettings(gateway: { ready: { apiUrl: string }; token(): Promise<string> }): Promise<{ webai_cloud_origins: string[] }> {
  const response = await fetch(`${gateway.ready.apiUrl}/api/settings`, { headers: { authorization: `Bearer ${await gateway.token()}` } });
  return (await response.json()) as { webai_cloud_origins: string[] };
}
