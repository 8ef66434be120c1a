import { readBrowserBundle } from '../built-assets.js';
import type { PageRuntimeConfig } from './page/runtime-config.js';
import { wrapPageRuntime } from './runtime-source.js';

export type { PageRuntimeConfig } from './page/runtime-config.js';

/** The runtime as a function expression of the page's config (see runtime-source.ts). */
const SOURCE = wrapPageRuntime(readBrowserBundle('page-runtime.js'));

/**
 * Serializes a value as JSON that is safe inside an inline `<script>` and pure ASCII, so it can be
 * spliced into a page of any ASCII-compatible charset without changing the page's bytes.
 */
export function toInlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The runtime as an inline script body: the runtime function applied to this page's config. */
export function pageRuntimeScript(config: PageRuntimeConfig): string {
  return `${SOURCE}(${toInlineJson(config)});`;
}
