import browser, { type Proxy } from 'webextension-polyfill';
import type { ExtensionSettings } from '../common/protocol';

/**
 * "Route this browser through the gateway": only this browser profile, through the `proxy` API,
 * never a system-wide proxy. The browser drops extension-controlled proxy settings when the
 * extension is disabled or removed, so nothing is left behind.
 * Chromium: a PAC script (`proxy.settings`). Firefox: a `proxy.onRequest` listener.
 * Either way the gateway itself and local addresses stay direct, and when the gateway is down
 * Chromium falls back to a direct connection instead of breaking the web.
 */

const GATEWAY_HOST = '127.0.0.1';

/** The PAC script: everything via the gateway proxy except the gateway and local addresses. */
export function pacScript(proxyPort: number): string {
  return `function FindProxyForURL(url, host) {
  host = host.toLowerCase();
  if (isPlainHostName(host) || host === 'localhost' || dnsDomainIs(host, '.localhost') || dnsDomainIs(host, '.local') ||
      host === '::1' || host === '[::1]' || shExpMatch(host, '127.*') || shExpMatch(host, '10.*') ||
      shExpMatch(host, '192.168.*') || shExpMatch(host, '169.254.*') || /^172\\.(1[6-9]|2[0-9]|3[01])\\./.test(host)) {
    return 'DIRECT';
  }
  return 'PROXY ${GATEWAY_HOST}:${proxyPort}; DIRECT';
}`;
}

/** The same decision as the PAC script, for Firefox's `proxy.onRequest`. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    !host.includes('.') && !host.includes(':') ||
    host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host === '::1' ||
    /^(127|10)\./.test(host) || /^192\.168\./.test(host) || /^169\.254\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host)
  );
}

const usesProxyListener = () => typeof (browser.proxy as { onRequest?: unknown } | undefined)?.onRequest !== 'undefined';

/** Applies the routing switch (Chromium). On Firefox the listener reads the settings itself. */
export async function applyProxyRouting(settings: ExtensionSettings): Promise<void> {
  if (usesProxyListener()) return;
  if (settings.proxyRouting && settings.proxyPort) {
    await browser.proxy.settings.set({ value: { mode: 'pac_script', pacScript: { data: pacScript(settings.proxyPort), mandatory: false } }, scope: 'regular' });
  } else {
    await browser.proxy.settings.clear({ scope: 'regular' });
  }
}

/** Firefox: decides per request from the stored settings (registered at worker start-up). */
export function listenForProxyRequests(current: () => Promise<ExtensionSettings>): void {
  if (!usesProxyListener()) return;
  browser.proxy.onRequest.addListener(
    async (details: Proxy.OnRequestDetailsType) => {
      const settings = await current();
      if (!settings.proxyRouting || !settings.proxyPort) return { type: 'direct' };
      const host = new URL(details.url).hostname;
      return isLocalHost(host) ? { type: 'direct' } : { type: 'http', host: GATEWAY_HOST, port: settings.proxyPort, failoverTimeout: 1 };
    },
    { urls: ['<all_urls>'] },
  );
}
