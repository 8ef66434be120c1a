/**
 * "Reload without plugins" (the extension's popup) gives a tab one load the site alone made. The
 * extension marks that load's navigations, the top document's and its frames', with this request
 * header (a declarativeNetRequest rule for the tab, lifted once the load is over), and the proxy
 * passes those documents through as the site sent them: no runtime, no plugin file, the site's
 * own security policy, nothing the page could run by mistake. The header never reaches the site.
 * A page cannot set it on a navigation, and setting it on its own fetches changes nothing: only
 * documents are ever injected.
 */
export const PLUGIN_FREE_HEADER = 'x-aiplugs-plugin-free';

/** Asked of every request the proxy sees, so one lookup: Node and HTTP/2 name request headers in lower case. */
export const isPluginFreeLoad = (headers: Record<string, string | string[] | undefined>): boolean => Object.hasOwn(headers, PLUGIN_FREE_HEADER);
