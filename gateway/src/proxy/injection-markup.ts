import type { PluginMatch } from '../plugins/plugin-registry.js';
import { PAGE_RUNTIME_FILE, toInlineJson } from '../runtime/page-runtime.js';
import type { WebAiPageConfig } from '../runtime/page/runtime-config.js';

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
}

function attr(name: string, value: string | undefined): string {
  return value ? ` ${name}="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"` : '';
}

/**
 * Everything injected into one document, as one ASCII string placed at a single point early in
 * the head: the runtime first (a blocking, cacheable script that reads this page's config from its
 * own element), then styles, then scripts by `run_at`:
 * `document_start` as blocking tags (run before any page script), `document_end` as `defer`
 * (after parsing, before DOMContentLoaded), `document_idle` loaded by the runtime afterwards.
 */
export function buildInjectionMarkup(matches: PluginMatch[], options: MarkupOptions): string {
  const nonce = attr('nonce', options.nonce);
  const scripts = matches.flatMap(({ plugin, scripts: contentScripts }) => contentScripts.map((script) => ({ id: plugin.id, script })));
  const styles = scripts.flatMap(({ id, script }) => script.css.map((file) => `<link rel="stylesheet"${nonce} href="${options.bridgeBase}${pluginFilePath(id, file)}">`));
  const tags = (runAt: string, extra: string) =>
    scripts
      .filter(({ script }) => script.run_at === runAt)
      .flatMap(({ id, script }) => script.js.map((file) => `<script${extra}${nonce} src="${options.bridgeBase}${pluginFilePath(id, file)}"></script>`));
  const idle = scripts.filter(({ script }) => script.run_at === 'document_idle').flatMap(({ id, script }) => script.js.map((file) => pluginFilePath(id, file)));
  const config = toInlineJson({ version: options.version, apiPort: options.apiPort, bridge: options.bridgeBase, plugins: matches.map(({ plugin }) => plugin.id), idle, ...(options.unavailable?.length ? { unavailable: options.unavailable } : {}), ...(options.webAi ? { webai: options.webAi } : {}) });
  const runtime = `<script${nonce} src="/__aiplugs/runtime/${PAGE_RUNTIME_FILE}" data-aiplugs="runtime"${attr('data-aiplugs-config', config)}></script>`;
  return [runtime, ...styles, ...tags('document_start', ''), ...tags('document_end', ' defer')].join('');
}
