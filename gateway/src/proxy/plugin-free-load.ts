/**
 * "Reload without plugins" (the extension's popup) gives a tab one load the site alone made. The
 * extension marks that load's GETs of documents and frames with this request header (a
 * declarativeNetRequest rule for the tab, lifted once the load is parsed), and the proxy takes it
 * off whatever GET carries it and passes the documents through as the site sent them, uncached: no
 * runtime, no plugin file, the site's own security policy. Through the proxy, the header never
 * reaches a site. A document the mark misses (one a site's service worker fetches belongs to no
 * tab) is injected as usual, and the runtime stands down there (runtime/page/entry.ts, proxy-elements.ts). A
 * page cannot set the header on a navigation; on its own fetches it changes nothing, since fetches
 * are never injected.
 */
export const PLUGIN_FREE_HEADER = 'x-aiplugs-plugin-free';

/** Asked of every request the proxy sees, so one lookup: Node and HTTP/2 name request headers in lower case. */
export const isPluginFreeLoad = (headers: Record<string, string | string[] | undefined>): boolean => Object.hasOwn(headers, PLUGIN_FREE_HEADER);
