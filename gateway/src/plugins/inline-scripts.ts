import { open, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginManifest } from './manifest-schema.js';
import { coveredByRevision } from './plugin-revision.js';

/**
 * Largest `document_start` script a document carries inline. Each injected document gets its own
 * copy (its bridge URLs are per document, so the browser could not have cached the file anyway);
 * past this size a plugin's file is loaded by URL instead.
 */
export const MAX_INLINE_SCRIPT_BYTES = 64 * 1024;

async function readBounded(path: string): Promise<string | null> {
  const handle = await open(path, 'r');
  try {
    if ((await handle.stat()).size > MAX_INLINE_SCRIPT_BYTES) return null;
    const buffer = Buffer.alloc(MAX_INLINE_SCRIPT_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // Grown since the stat: too big after all.
    return bytesRead > MAX_INLINE_SCRIPT_BYTES ? null : buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The text of a plugin's `document_start` scripts that can go inline in the documents it is
 * injected into (file → text): a script that must hold the parser then costs the page no request.
 * Read once per load of the plugin, so a document pays nothing for it. Only files the revision
 * covers and reached without a symlink, so an edit always gives a new revision and a fresh read
 * (as for the file reader's memory, api/routes/plugin-files.ts); whether the text may go inside a
 * particular document is the markup's decision (proxy/injection-markup.ts).
 */
export async function readInlineScripts(dir: string, manifest: PluginManifest): Promise<ReadonlyMap<string, string>> {
  const files = [...new Set(manifest.content_scripts.filter((script) => script.run_at === 'document_start').flatMap((script) => script.js))];
  const root = await realpath(dir);
  const texts = await Promise.all(
    files.filter(coveredByRevision).map(async (file): Promise<[string, string] | null> => {
      const path = join(root, file);
      try {
        if ((await realpath(path)) !== path) return null;
        const text = await readBounded(path);
        return text === null ? null : [file, text];
      } catch {
        // Gone since the manifest was checked: the page's request for it will say so.
        return null;
      }
    }),
  );
  return new Map(texts.filter((entry): entry is [string, string] => entry !== null));
}
