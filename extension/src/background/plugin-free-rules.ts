import type { DeclarativeNetRequest } from 'webextension-polyfill';
import { PLUGIN_FREE_HEADER } from '../../../gateway/src/proxy/plugin-free-load';

/**
 * The session rules of one "Reload without plugins" of a tab, lifted once that load is parsed
 * (suppressed-loads.ts), both on the tab's documents and frames:
 * - the site keeps its own policy: an `allow` rule above the user's CSP-stripping rules
 *   (header-rules.ts, priority 1), which exist for plugins and no plugin runs on this load;
 * - where the gateway's proxy is in the tab's path, the mark for which it passes those documents
 *   through untouched (gateway/src/proxy/plugin-free-load.ts), above the `allow` rule so that it
 *   still applies. Nowhere else: a site that received the mark would learn that AiPlugs is
 *   installed, and a load the proxy does not see needs no mark (the extension injects nothing
 *   into a suppressed load).
 * `ids`: two session rule ids no other rule holds (a tab id will not do: they reach 2^31).
 */
export function pluginFreeRules(tabId: number, proxyInPath: boolean, [keepPolicy, mark]: readonly [number, number]): DeclarativeNetRequest.Rule[] {
  const documents: DeclarativeNetRequest.RuleConditionType = { tabIds: [tabId], resourceTypes: ['main_frame', 'sub_frame'] };
  const rules: DeclarativeNetRequest.Rule[] = [{ id: keepPolicy, priority: 2, action: { type: 'allow' }, condition: documents }];
  if (proxyInPath) {
    rules.push({
      id: mark,
      priority: 3,
      action: { type: 'modifyHeaders', requestHeaders: [{ header: PLUGIN_FREE_HEADER, operation: 'set', value: '1' }] },
      // A page a form POST reached is a document the proxy injects too (a reload sends the form again).
      condition: { ...documents, requestMethods: ['get', 'post'] },
    });
  }
  return rules;
}
