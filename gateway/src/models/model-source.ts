import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import { ModelError } from './model-error.js';
import { rewriteToMirror, type MirrorRule } from './mirror-rewrite.js';

/** Where bytes for a model can come from, already rewritten for mirrors and stripped of secrets. */
export type ModelSource =
  | {
      kind: 'http';
      url: URL;
      /** Sent only to `url`'s origin: never to a host a redirect leads to. */
      authorization: string | undefined;
      /** The URL as it may appear in logs and errors (no user info). */
      display: string;
    }
  | { kind: 'file'; path: string; display: string };

/** Decides the `Authorization` header for a source URL that carries no user info of its own. */
export type AuthorizationFor = (url: URL) => string | undefined;

/** `decodeURIComponent`, with a malformed escape (`%zz`) blamed on the declaration, described by `where`. */
function decodeDeclared(text: string, where: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ModelError('invalid_declaration', `${where} has a malformed %-escape`);
  }
}

/**
 * Turns one declared URL into a source. `file:` URLs may be `file:///abs`, `file:/abs` or
 * `file:relative/path` (relative to the plugin folder, the form a manifest can ship with).
 */
export function resolveSource(raw: string, pluginDir: string, mirrors: MirrorRule[], authorizationFor?: AuthorizationFor): ModelSource {
  if (raw.startsWith('file:')) {
    const rest = raw.slice('file:'.length);
    let path: string;
    if (rest.startsWith('//')) {
      try {
        path = fileURLToPath(raw);
      } catch (error) {
        throw new ModelError('invalid_declaration', `Invalid file URL "${raw}": ${(error as Error).message}`);
      }
    } else {
      const decoded = decodeDeclared(rest, `Model URL "${raw}"`);
      path = isAbsolute(decoded) ? decoded : resolve(pluginDir, decoded);
    }
    return { kind: 'file', path, display: `file:${path}` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ModelError('invalid_declaration', `Invalid model URL "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModelError('invalid_declaration', `Unsupported model URL scheme "${url.protocol}" in "${raw}" (use https:, http: or file:)`);
  }
  let authorization: string | undefined;
  if (url.username || url.password) {
    // Named by host only: the message must not repeat the password it failed to decode.
    const where = `The user name or password in the model URL for ${url.host}`;
    const user = decodeDeclared(url.username, where);
    const password = decodeDeclared(url.password, where);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const target = rewriteToMirror(url, mirrors);
  // A mirror is another host: credentials written into the original URL never go there; the
  // embedder's `authorizationFor` decides per host, so it may still have a token for the mirror.
  if (target.href !== url.href) authorization = authorizationFor?.(target);
  else authorization ??= authorizationFor?.(url);
  return { kind: 'http', url: target, authorization, display: target.href };
}

/** All sources for a declaration, in the order to try them: `source_url`, then `mirrors`. */
export function resolveSources(declaration: ModelDeclaration, pluginDir: string, mirrors: MirrorRule[], authorizationFor?: AuthorizationFor): ModelSource[] {
  const seen = new Set<string>();
  return [declaration.source_url, ...declaration.mirrors]
    .map((raw) => resolveSource(raw, pluginDir, mirrors, authorizationFor))
    .filter((source) => {
      const id = source.display;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
}
