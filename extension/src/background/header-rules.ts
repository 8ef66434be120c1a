import browser, { type DeclarativeNetRequest } from 'webextension-polyfill';
import type { GatewaySettings } from '../common/gateway-answers';
import { hostMatchesSitePattern } from '../common/site-patterns';

/**
 * Layer-1 header filtering (the seed's Electron `webRequest` layer, as declarativeNetRequest
 * rules), only where the user chose it: the top-level documents of each chosen host lose their
 * Content-Security-Policy (and its -Report-Only twin) so the fallback's inline scripts can run.
 * Nothing else is touched: X-Frame-Options and frame-ancestors keep protecting the site from being
 * framed, frames keep their policies, and every other site keeps its own. By default the list is
 * empty; the popup adds a host when the user answers "allow stripping for this site".
 */

const REMOVED_HEADERS = ['content-security-policy', 'content-security-policy-report-only'];
/** Chromium allows 1000 regex rules per extension; stay well inside it. */
const MAX_RULES = 500;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The rules for the hosts the user chose; none while plugins are paused, and none for a host
 * switched off for every plugin (nothing would run there, so nothing is worth weakening it).
 *
 * @example
 *   buildHeaderRules(['example.com'], { paused: false, disabled_sites: [], … })
 *   // → one rule: regexFilter '^https?://example\\.com(:\\d+)?/', main_frame only, removes the CSP headers
 */
export function buildHeaderRules(sites: string[], settings: GatewaySettings): DeclarativeNetRequest.Rule[] {
  if (settings.paused) return [];
  return [...new Set(sites.map((site) => site.toLowerCase()))]
    .filter((site) => !settings.disabled_sites.some((pattern) => hostMatchesSitePattern(site, pattern)))
    .slice(0, MAX_RULES)
    .map((site, index) => ({
      id: index + 1,
      priority: 1,
      action: { type: 'modifyHeaders', responseHeaders: REMOVED_HEADERS.map((header) => ({ header, operation: 'remove' })) },
      // The host exactly (requestDomains would take its subdomains too), any port, any path.
      condition: { regexFilter: `^https?://${escapeRegex(site)}(:\\d+)?/`, resourceTypes: ['main_frame'] },
    }));
}

/** Replaces the extension's dynamic rules with `rules` (dynamic rules persist across restarts). */
export async function installHeaderRules(rules: DeclarativeNetRequest.Rule[]): Promise<void> {
  const existing = await browser.declarativeNetRequest.getDynamicRules();
  await browser.declarativeNetRequest.updateDynamicRules({ removeRuleIds: existing.map((rule) => rule.id), addRules: rules });
}
