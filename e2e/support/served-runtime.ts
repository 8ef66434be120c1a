import { createHash } from 'node:crypto';
import { browserBundle, bundleText } from '../../gateway/build/browser-bundles.js';
import { wrapPageRuntime } from '../../gateway/src/runtime/runtime-source.js';
import { NAVIGATION_HEADERS, proxiedRequest } from './proxy-client.js';

export interface ServedRuntime {
  /** The file name in the page's markup, `runtime-<hash>.js`. */
  file: string;
  body: string;
}

/**
 * The page runtime exactly as a browser gets it: the runtime file named in a page injected by the
 * proxy at `proxyUrl`, fetched through that proxy on the page's own origin.
 */
export async function servedRuntime(gateway: { proxyUrl: string; caCertPath: string }, pageUrl: string): Promise<ServedRuntime> {
  const page = await proxiedRequest(gateway.proxyUrl, gateway.caCertPath, pageUrl, { headers: NAVIGATION_HEADERS });
  const file = /src="\/__aiplugs\/runtime\/(runtime-[0-9a-f]{16}\.js)"/.exec(page.body.toString('latin1'))?.[1];
  if (!file) throw new Error(`no runtime script in the injected page:\n${page.body.toString('latin1').slice(0, 2000)}`);
  const runtime = await proxiedRequest(gateway.proxyUrl, gateway.caCertPath, new URL(`/__aiplugs/runtime/${file}`, pageUrl).href);
  if (runtime.status !== 200) throw new Error(`GET /__aiplugs/runtime/${file}: HTTP ${runtime.status}`);
  return { file, body: runtime.body.toString('latin1') };
}

/** The runtime function esbuild makes from the sources as they are now, built in memory. */
export async function runtimeFromSources(): Promise<string> {
  return wrapPageRuntime(await bundleText(browserBundle('page-runtime.js')));
}

/** The name the gateway gives a runtime file: its content's hash. */
export const runtimeFileName = (body: string) => `runtime-${createHash('sha256').update(body, 'latin1').digest('hex').slice(0, 16)}.js`;
