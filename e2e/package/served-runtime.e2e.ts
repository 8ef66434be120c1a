import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { browserBundle, bundleText } from '../../gateway/build/browser-bundles.js';
import { REPO_ROOT, startGatewayProcess } from '../support/gateway-process.js';
import { runtimeFromSources, servedRuntime } from '../support/served-runtime.js';
import { respond, startTestSite } from '../support/test-site.js';

test('the compiled gateway injects the page runtime esbuild builds from the sources now', async () => {
  const site = await startTestSite({ '/': respond(200, { 'content-type': 'text/html' }, '<!doctype html><html><head><title>t</title></head><body>x</body></html>') });
  const gateway = await startGatewayProcess();
  try {
    const served = await servedRuntime(gateway.ready, `${site.origin}/`);
    const expected = await runtimeFromSources();
    // The inline script is the sources' runtime function applied to this page's config.
    expect(served.startsWith(`${expected}({"version":`), 'the injected runtime is not the bundle of gateway/src/runtime/page/ as it is now (stale gateway/dist?)').toBe(true);
    expect(served.endsWith(');')).toBe(true);
    const config = JSON.parse(served.slice(expected.length + 1, -2)) as Record<string, unknown>;
    expect(config).toMatchObject({ version: expect.any(String), apiPort: gateway.ready.apiPort, bridge: expect.stringMatching(/^\/__aiplugs\/cap\/[\w.-]+$/), plugins: expect.arrayContaining(['echo']) });
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
