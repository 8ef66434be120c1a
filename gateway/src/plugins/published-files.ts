import picomatch from 'picomatch';
import { isSafeRelativePath, type PluginManifest } from './manifest-schema.js';

/**
 * Longest path a page may ask for. picomatch's regex for a glob with two wildcards in one segment
 * (`*.*` after a globstar, `*-*.js`) backtracks on a long path of near misses: a page's 160 KB
 * path took 6 s of the gateway's only thread. No plugin's file is named that long.
 */
export const MAX_PUBLISHED_PATH = 1024;

/**
 * Decides which of a plugin's files pages may load: its content scripts' JS and CSS and what its
 * manifest lists in `web_accessible_resources`. Never a dotfile or anything under a dot-folder,
 * whatever a glob says: `.env`, `.git`, `.venv` hold secrets and installed code, not page assets.
 *
 * @example
 *   const isPublished = publishedFiles(manifest);
 *   isPublished('content.js'); // true
 *   isPublished('backend.py'); // false
 */
export function publishedFiles(manifest: PluginManifest): (path: string) => boolean {
  const declared = new Set(manifest.content_scripts.flatMap((script) => [...script.js, ...script.css]));
  const globs = manifest.web_accessible_resources ?? [];
  // picomatch: the globs of WebExtension-style resource lists; `dot: false` keeps dotfiles out.
  const matches = globs.length > 0 ? picomatch(globs, { dot: false, strictSlashes: true }) : () => false;
  return (path) => path.length <= MAX_PUBLISHED_PATH && isSafeRelativePath(path) && !path.split('/').some((segment) => segment.startsWith('.')) && (declared.has(path) || matches(path));
}
