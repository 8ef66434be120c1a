import type { PluginMatch } from '../plugins/plugin-registry.js';
import { pageRuntimeScript } from '../runtime/page-runtime.js';
import type { PageRuntimeConfig, WebAiPageConfig } from '../runtime/page/runtime-config.js';

/** The bridge path of a plugin file, percent-encoded so the markup stays ASCII. */
export function pluginFilePath(pluginId: string, file: string): string {
  return `/api/plugins/${encodeURIComponent(pluginId)}/files/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export interface MarkupOptions {
  version: string;
  apiPort: number;
  /** Where this document's bridge calls go: `/__aiplugs/cap/<token>` (see bridge/bridge-paths). */
  bridgeBase: string;
  /** Added to every element we inject, so a page's CSP can let exactly our scripts run. */
  nonce?: string | undefined;
  /** Ids of injected plugins the gateway cannot serve as configured (the page runtime's `unavailable`). */
  unavailable?: string[] | undefined;
  /** The document's Web AI settings when it has the grant (the runtime then defines the built-in AI globals). */
  webAi?: WebAiPageConfig | null;
  /** The document is XHTML (`application/xhtml+xml`): inline script text goes in a CDATA section. */
  xml?: boolean | undefined;
}

function attr(name: string, value: string | undefined): string {
  return value ? ` ${name}="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"` : '';
}

/**
 * The runtime as an inline script: it runs before any page script without a request of its own,
 * where a `<script src>` would hold the parser for a round trip through the proxy (issue #15: on a
 * loaded machine that wait was ~60 ms per document). Its bytes travel only over loopback.
 */
function runtimeElement(config: PageRuntimeConfig, nonce: string, xml: boolean): string {
  const code = pageRuntimeScript(config);
  return `<script${nonce} data-aiplugs="runtime">${xml ? `//<![CDATA[\n${code}\n//]]>` : code}</script>`;
}

/**
 * Everything injected into one document, as one ASCII string placed at a single point early in
 * the head: the runtime first (inline, with this page's config), then styles, then scripts by `run_at`:
 * `document_start` as blocking tags (run before any page script), `document_end` as `defer`
 * (after parsing, before DOMContentLoaded), `document_idle` loaded by the runtime afterwards.
 */
export function buildInjectionMarkup(matches: PluginMatch[], options: MarkupOptions): string {
  const nonce = attr('nonce', options.nonce);
  const scripts = matches.flatMap(({ plugin, scripts: contentScripts }) => contentScripts.map((script) => ({ id: plugin.id, script })));
  const xml = options.xml === true;
  // XHTML is XML: an empty element closes itself and an attribute has a value.
  const styles = scripts.flatMap(({ id, script }) => script.css.map((file) => `<link rel="stylesheet"${nonce} href="${options.bridgeBase}${pluginFilePath(id, file)}"${xml ? '/' : ''}>`));
  const tags = (runAt: string, extra: string) =>
    scripts
      .filter(({ script }) => script.run_at === runAt)
      .flatMap(({ id, script }) => script.js.map((file) => `<script${extra}${nonce} src="${options.bridgeBase}${pluginFilePath(id, file)}"></script>`));
  const idle = scripts.filter(({ script }) => script.run_at === 'document_idle').flatMap(({ id, script }) => script.js.map((file) => pluginFilePath(id, file)));
  const config: PageRuntimeConfig = {
    version: options.version,
    apiPort: options.apiPort,
    bridge: options.bridgeBase,
    plugins: matches.map(({ plugin }) => plugin.id),
    idle,
    ...(options.unavailable?.length ? { unavailable: options.unavailable } : {}),
    ...(options.webAi ? { webai: options.webAi } : {}),
  };
  return [runtimeElement(config, nonce, xml), ...styles, ...tags('document_start', ''), ...tags('document_end', xml ? ' defer="defer"' : ' defer')].join('');
}
