import browser, { type DeclarativeNetRequest } from 'webextension-polyfill';
import type { GatewaySettings, PluginInfo } from '../common/gateway-types';

/**
 * Layer-1 header filtering (the seed's Electron `webRequest` layer, as declarativeNetRequest
 * rules): on main_frame and sub_frame responses of sites where plugins are active, remove
 * Content-Security-Policy and X-Frame-Options so injected scripts can run. Derived from the
 * plugins' `matches` minus the user's switches, so rules cover a site before its first visit
 * and follow every toggle.
 */

const REMOVED_HEADERS = ['content-security-policy', 'content-security-policy-report-only', 'x-frame-options'];
/** Chromium allows 1000 regex rules per extension; stay well inside it. */
const MAX_RULES = 500;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A WebExtension match pattern as an RE2 regex over request URLs, or null for patterns that never
 * apply to network documents (`file:`). `<all_urls>` becomes every http(s) URL.
 *
 * @example
 *   matchPatternToRegex('*://*.example.com/app/*') // → '^https?://([^/:]+\\.)?example\\.com(:\\d+)?/app/.*$'
 */
export function matchPatternToRegex(pattern: string): string | null {
  if (pattern === '<all_urls>') return '^https?://';
  const parsed = /^(\*|https?|wss?|file|ftp):\/\/([^/]*)(\/.*)$/.exec(pattern);
  if (!parsed) return null;
  const [, scheme = '', host = '', path = '/'] = parsed;
  if (scheme !== '*' && scheme !== 'http' && scheme !== 'https') return null;
  const schemeRe = scheme === '*' ? 'https?' : scheme;
  let hostRe: string;
  if (host === '*') hostRe = '[^/]+';
  else if (host.startsWith('*.')) hostRe = `([^/:]+\\.)?${escapeRegex(host.slice(2))}(:\\d+)?`;
  else hostRe = `${escapeRegex(host)}(:\\d+)?`;
  const pathRe = path.split('*').map(escapeRegex).join('.*');
  return `^${schemeRe}://${hostRe}${pathRe}$`;
}

/** `example.com` and `*.example.com` → `example.com` (requestDomains covers subdomains); `*` → null. */
function requestDomain(sitePattern: string): string | null {
  const host = sitePattern.trim().toLowerCase().replace(/^\*\./, '');
  return host === '*' || host === '' ? null : host;
}

/** The rules for the current plugins and switches; none while paused or in `keep` mode. */
export function buildHeaderRules(plugins: PluginInfo[], settings: GatewaySettings): DeclarativeNetRequest.Rule[] {
  if (settings.paused) return [];
  const globalSkip = settings.disabled_sites;
  if (globalSkip.some((site) => requestDomain(site) === null)) return [];
  const byFilter = new Map<string, Set<string>>();
  for (const plugin of plugins) {
    if (plugin.status !== 'enabled') continue;
    const skip = [...globalSkip, ...(settings.plugin_disabled_sites[plugin.id] ?? [])];
    if (skip.some((site) => requestDomain(site) === null)) continue; // switched off everywhere
    for (const script of plugin.content_scripts ?? []) {
      for (const pattern of script.matches) {
        const regex = matchPatternToRegex(pattern);
        if (!regex) continue;
        const key = `${regex}\n${[...new Set(skip.map(requestDomain).filter((d): d is string => d !== null))].sort().join(',')}`;
        byFilter.set(key, new Set());
      }
    }
  }
  return [...byFilter.keys()].slice(0, MAX_RULES).map((key, index) => {
    const [regexFilter = '', domains = ''] = key.split('\n');
    const excluded = domains ? domains.split(',') : [];
    return {
      id: index + 1,
      priority: 1,
      action: { type: 'modifyHeaders', responseHeaders: REMOVED_HEADERS.map((header) => ({ header, operation: 'remove' })) },
      condition: {
        regexFilter,
        resourceTypes: ['main_frame', 'sub_frame'],
        ...(excluded.length > 0 ? { excludedRequestDomains: excluded } : {}),
      },
    } as DeclarativeNetRequest.Rule;
  });
}

/** Replaces the extension's dynamic rules with `rules` (dynamic rules persist across restarts). */
export async function installHeaderRules(rules: DeclarativeNetRequest.Rule[]): Promise<void> {
  const existing = await browser.declarativeNetRequest.getDynamicRules();
  await browser.declarativeNetRequest.updateDynamicRules({ removeRuleIds: existing.map((rule) => rule.id), addRules: rules });
}
