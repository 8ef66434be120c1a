import type { PluginMatch } from '../plugins/plugin-registry.js';
import { pageRuntimeScript } from '../runtime/page-runtime.js';
import { pluginSourceUrl } from '../runtime/page/plugin-source-url.js';
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
  /**
   * The document's origin, in front of the head end's URLs: they come after the page's own head
   * nodes, so after any `<base href>`, which would send a path elsewhere (another origin's server
   * refuses our files, and the plugin's sheet and document_end scripts were lost).
   */
  origin?: string | undefined;
  /** Added to every element we inject, so a page's CSP can let exactly our scripts run. */
  nonce?: string | undefined;
  /** Ids of injected plugins the gateway cannot serve as configured (the page runtime's `unavailable`). */
  unavailable?: string[] | undefined;
  /** The document's Web AI settings when it has the grant (the runtime then defines the built-in AI globals). */
  webAi?: WebAiPageConfig | null;
  /** The document is XHTML (`application/xhtml+xml`): inline script text goes in a CDATA section. */
  xml?: boolean | undefined;
  /** Write the plugins' inline-ready `document_start` scripts inline (see document-plan.ts for which documents). */
  inlineStart?: boolean | undefined;
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

/** What one document gets: `markup` at a single point early in its head, `headEnd` at the head's end. */
export interface InjectionMarkup {
  markup: string;
  headEnd: string;
}

/**
 * Everything injected into one document, as ASCII strings. The markup goes at a single point early
 * in the head: the runtime first (inline, with this page's config), then the `document_start`
 * scripts, blocking (they run before any page script; inline where the options and the plugin's
 * file allow, see plugins/inline-scripts.ts, so they cost the page no request). Each of these that
 * runs is gone from the page by the time the parser moves on. What stays goes last in the head, after
 * the page's own nodes (head-scanner.ts says why), with absolute URLs: the style sheets, then the
 * `document_end` scripts as `defer` (after parsing and after the page's own deferred head scripts,
 * before DOMContentLoaded; an async page script can meet them before they run). In XHTML all of it
 * goes early (head-scanner.ts). `document_idle` files the runtime loads afterwards.
 */
export function buildInjectionMarkup(matches: PluginMatch[], options: MarkupOptions): InjectionMarkup {
  const nonce = attr('nonce', options.nonce);
  const scripts = matches.flatMap(({ plugin, scripts: contentScripts }) => contentScripts.map((script) => ({ plugin, script })));
  const xml = options.xml === true;
  const src = (id: string, file: string) => `${options.bridgeBase}${pluginFilePath(id, file)}`;
  const endSrc = (id: string, file: string) => `${options.origin ?? ''}${src(id, file)}`;
  // XHTML is XML: an empty element closes itself and an attribute has a value.
  // Every element names its plugin: the runtime removes a stopped plugin's style sheets by it.
  const owner = (id: string) => `${nonce}${attr('data-aiplugs-plugin', id)}`;
  const styles = scripts.flatMap(({ plugin, script }) => script.css.map((file) => `<link rel="stylesheet"${owner(plugin.id)} href="${endSrc(plugin.id, file)}"${xml ? '/' : ''}>`));
  const files = (runAt: string) => scripts.filter(({ script }) => script.run_at === runAt).flatMap(({ plugin, script }) => script.js.map((file) => ({ plugin, file })));
  const startTags = files('document_start').map(({ plugin, file }) => {
    const code = options.inlineStart === true ? plugin.inlineScripts.get(file) : undefined;
    // The file's own name for stack traces and DevTools, after a line break so no comment of the file swallows it.
    // An inline copy takes its element out once it has run, as the runtime's does (runtime/page/entry.ts).
    return code === undefined
      ? `<script${owner(plugin.id)} src="${src(plugin.id, file)}"></script>`
      : `<script${owner(plugin.id)}>${code}\n;document.currentScript&&document.currentScript.remove();\n//# sourceURL=${pluginSourceUrl(plugin.id, file)}\n</script>`;
  });
  const endTags = files('document_end').map(({ plugin, file }) => `<script${xml ? ' defer="defer"' : ' defer'}${owner(plugin.id)} src="${endSrc(plugin.id, file)}"></script>`);
  const config: PageRuntimeConfig = {
    version: options.version,
    apiPort: options.apiPort,
    bridge: options.bridgeBase,
    plugins: matches.map(({ plugin }) => plugin.id),
    idle: files('document_idle').map(({ plugin, file }) => pluginFilePath(plugin.id, file)),
    ...(options.unavailable?.length ? { unavailable: options.unavailable } : {}),
    ...(options.webAi ? { webai: options.webAi } : {}),
  };
  return { markup: [runtimeElement(config, nonce, xml), ...startTags].join(''), headEnd: [...styles, ...endTags].join('') };
}
