import { startGatewayProcess, type GatewayChild } from '../../support/gateway-process.js';
import { orClose } from '../../support/or-close.js';
import type { TestSite } from '../../support/test-site.js';
import { FIXTURE_PLUGINS, launchWithExtension, pairThroughPopup, type ExtensionBrowser } from './extension-browser.js';
import { startExtensionSite } from './extension-site.js';

export interface PairedExtensionStack {
  site: TestSite;
  gateway: GatewayChild;
  browser: ExtensionBrowser;
  /** Closes the browser, stops the gateway and the site. */
  close(): Promise<void>;
}

export interface PairedStackOptions {
  /** The gateway's plugins folder (default the extension's fixture plugins). */
  pluginsDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Also route Chromium through the gateway's proxy, trusting its CA; default the extension alone. */
  proxied?: boolean;
}

/**
 * The extension suites' world: the extension test site, a gateway process, Chromium with the
 * extension loaded, paired with the gateway through the popup as a user would. What started is
 * closed again if a later step fails, so a failed start leaves nothing running.
 */
export async function startPairedExtensionStack(options: PairedStackOptions = {}): Promise<PairedExtensionStack> {
  const site = await startExtensionSite();
  const gateway = await orClose(startGatewayProcess({ args: ['--plugins-dir', options.pluginsDir ?? FIXTURE_PLUGINS], env: options.env }), site);
  const servers = {
    close: async () => {
      await gateway.stop();
      await site.close();
    },
  };
  const browser = await orClose(launchWithExtension(options.proxied ? { proxyServer: gateway.ready.proxyUrl, caSpki: gateway.ready.caSpki } : {}), servers);
  const close = async () => {
    await browser.close();
    await servers.close();
  };
  await orClose(pairThroughPopup(browser.context, gateway.ready.apiUrl, await gateway.token()), { close });
  return { site, gateway, browser, close };
}
