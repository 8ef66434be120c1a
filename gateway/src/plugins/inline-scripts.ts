import { isInlineSafe } from '../proxy/inline-text.js';
import type { PluginManifest } from './manifest-schema.js';
import { locatePluginFile } from './locate-plugin-file.js';
import { readBoundedFile } from './read-bounded-file.js';

/**
 * Largest `document_start` script a document carries inline. Each injected document gets its own
 * copy (its bridge URLs are per document, so the browser could not have cached the file anyway);
 * past this size a plugin's file is loaded by URL instead.
 */
export const MAX_INLINE_SCRIPT_BYTES = 64 * 1024;

/**
 * Whether a script's text runs the same inline as from its URL: text that sits in a script element
 * unchanged (proxy/inline-text.ts) without control characters (the HTML parser turns NUL into
 * U+FFFD), and nothing that depends on the script's own URL, which inline code does not have:
 * `document.currentScript` (its `src`), `import()` (resolved against it) and a
 * `sourceURL`/`sourceMappingURL` comment (a relative map is fetched from next to it). A false alarm
 * only means the file is loaded by URL. Line breaks are the parser's (CR LF becomes LF), which
 * changes a function's source text but not what the code does.
 */
export function runsTheSameInline(text: string): boolean {
  return isInlineSafe(text) && !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|currentScript|\bimport\s*\(|[#@]\s*source(?:Mapping)?URL=/.test(text);
}

/**
 * The text of a plugin's `document_start` scripts that go inline into the HTML documents it
 * is injected into (file → text), so that a script that must hold the parser costs the page no
 * request. Read once per load of the plugin, so a document pays nothing for it. Only files the
 * revision covers, reached without a symlink, so an edit always gives a new revision and a fresh
 * read (as for the file reader's memory, api/routes/plugin-files.ts), and only text that runs the
 * same inline. Never throws: a file (or folder) gone since the manifest was checked is loaded by
 * URL, and the page's request for it says what is missing.
 */
export async function readInlineScripts(dir: string, manifest: PluginManifest): Promise<ReadonlyMap<string, string>> {
  const files = new Set(manifest.content_scripts.filter((script) => script.run_at === 'document_start').flatMap((script) => script.js));
  const texts = await Promise.all(
    [...files].map(async (file): Promise<[string, string] | null> => {
      try {
        const located = await locatePluginFile(dir, file);
        if (!located?.keepable) return null;
        const text = (await readBoundedFile(located.path, MAX_INLINE_SCRIPT_BYTES))?.toString('latin1');
        return text !== undefined && runsTheSameInline(text) ? [file, text] : null;
      } catch {
        return null;
      }
    }),
  );
  return new Map(texts.filter((entry): entry is [string, string] => entry !== null));
}
