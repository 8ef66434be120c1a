import picomatch from 'picomatch';
import { isSafeRelativePath, type PluginManifest } from './manifest-schema.js';

/**
 * Longest path, and path segment, a page may ask for. picomatch's regex for a glob with several
 * wildcards in one segment (`*.*` after a globstar, `*-*.js`) backtracks on a long segment of near
 * misses, as its length to the power of the wildcards: a page's 160 KB path took 6 s of the
 * gateway's only thread, and one segment of 1,000 characters 4.7 s for `*-*-*-*.png`. No file's
 * name is longer than 255 bytes (the file systems' NAME_MAX), so the cap refuses no real file.
 */
export const MAX_PUBLISHED_PATH = 1024;
export const MAX_PUBLISHED_SEGMENT = 255;

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
  return (path) =>
    path.length <= MAX_PUBLISHED_PATH &&
    isSafeRelativePath(path) &&
    !path.split('/').some((segment) => segment.startsWith('.') || segment.length > MAX_PUBLISHED_SEGMENT) &&
    (declared.has(path) || matches(path));
}
