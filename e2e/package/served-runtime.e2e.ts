import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';
import { browserBundle, bundleText } from '../../gateway/build/browser-bundles.js';
import { REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { proxiedRequest } from '../support/proxy-client.js';
import { runtimeFileName, runtimeFromSources, servedRuntime } from '../support/served-runtime.js';
import { respond, startTestSite } from '../support/test-site.js';

test('the compiled gateway serves the page runtime esbuild builds from the sources now', async () => {
  const site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>t</title></head><body>x</body></html>') });
  const gateway = await startGatewayProcess();
  try {
    const served = await servedRuntime(gateway.ready, `${site.origin}/`);
    const expected = await runtimeFromSources();
    // The served file is the sources' runtime function applied to the config its element carries…
    expect(served.body.startsWith(`${expected}((function () {`), 'the served runtime is not the bundle of gateway/src/runtime/page/ as it is now (stale gateway/dist?)').toBe(true);
    // …under a name that is its content hash, so a browser never runs a stale one from its cache.
    expect(served.file).toBe(runtimeFileName(served.body));
    // A browser gets it gzipped, through the proxy and the bridge: the same bytes once unpacked.
    const packed = await proxiedRequest(gateway.ready.proxyUrl, gateway.ready.caCertPath, `${site.origin}/__aiplugs/runtime/${served.file}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(packed.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(packed.body).toString('latin1')).toBe(served.body);
    // And the build output on disk is that same bundle.
    const built = await readFile(join(REPO_ROOT, 'gateway/dist/bundles/page-runtime.js'), 'utf8');
    expect(built).toBe(await bundleText(browserBundle('page-runtime.js')));
  } finally {
    await gateway.stop();
    await site.close();
  }
});

test('the dashboard script the gateway serves is the bundle of its TypeScript sources', async () => {
  const gateway = await startGatewayProcess();
  try {
    const response = await fetch(`${gateway.ready.apiUrl}/dashboard/dashboard.js`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(await bundleText(browserBundle('dashboard.js')));
  } finally {
    await gateway.stop();
  }
});
