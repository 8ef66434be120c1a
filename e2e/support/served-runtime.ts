import { browserBundle, bundleText } from '../../gateway/build/browser-bundles.js';
import { injectedRuntime } from '../../gateway/src/proxy/testing/injected-runtime.js';
import { wrapPageRuntime } from '../../gateway/src/runtime/runtime-source.js';
import { NAVIGATION_HEADERS, proxiedRequest } from './proxy-client.js';

/**
 * The page runtime exactly as a browser gets it: the inline script a page injected by the proxy
 * at `proxyUrl` carries (the runtime function applied to the page's config).
 */
export async function servedRuntime(gateway: { proxyUrl: string; caCertPath: string }, pageUrl: string): Promise<string> {
  const page = await proxiedRequest(gateway.proxyUrl, gateway.caCertPath, pageUrl, { headers: NAVIGATION_HEADERS });
  return injectedRuntime(page.body.toString('latin1')).code;
}

/** The runtime function esbuild makes from the sources as they are now, built in memory. */
export async function runtimeFromSources(): Promise<string> {
  return wrapPageRuntime(await bundleText(browserBundle('page-runtime.js')));
}
