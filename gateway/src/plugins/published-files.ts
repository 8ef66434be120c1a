import picomatch from 'picomatch';
import { isSafeRelativePath, type PluginManifest } from './manifest-schema.js';

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
  return (path) => isSafeRelativePath(path) && !path.split('/').some((segment) => segment.startsWith('.')) && (declared.has(path) || matches(path));
}
