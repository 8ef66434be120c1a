/**
 * One mirror rule: sources on `host` (or on every host when `host` is null) are fetched from
 * `base` instead, keeping their path and query below `base`'s path — the way `HF_ENDPOINT`
 * replaces `https://huggingface.co`.
 */
export interface MirrorRule {
  host: string | null;
  base: URL;
}

function parseBase(text: string, spec: string): URL {
  let base: URL;
  try {
    base = new URL(text);
  } catch {
    throw new Error(`Invalid model mirror "${spec}": "${text}" is not a URL`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new Error(`Invalid model mirror "${spec}": "${text}" must be an http: or https: URL`);
  }
  if (base.username || base.password) {
    throw new Error(`Invalid model mirror "${spec}": put credentials in the source URL, not in the mirror`);
  }
  return base;
}

/**
 * Parses `AIPLUGS_MODEL_MIRROR` / `models.mirror`. Two forms, comma-separated and mixable:
 * - `https://mirror.example/base` — every http(s) source host goes to that mirror;
 * - `huggingface.co=https://hf-mirror.example` — only that host (compared with port if given).
 * Throws with the offending part so a typo fails at start-up, not at the first download.
 *
 * @example
 *   parseMirrorSpec('huggingface.co=https://hf-mirror.example'); // [{ host: 'huggingface.co', base: URL }]
 */
export function parseMirrorSpec(spec: string | null | undefined): MirrorRule[] {
  if (!spec || !spec.trim()) return [];
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      // A bare URL may itself contain "=" in its query; only a "host=" prefix counts.
      if (eq > 0 && !part.slice(0, eq).includes('/')) {
        const host = part.slice(0, eq).trim().toLowerCase();
        if (!/^[a-z0-9.-]+(:\d+)?$/.test(host)) throw new Error(`Invalid model mirror "${spec}": "${host}" is not a host name`);
        return { host, base: parseBase(part.slice(eq + 1).trim(), spec) };
      }
      return { host: null, base: parseBase(part, spec) };
    });
}

function ruleMatches(rule: MirrorRule, url: URL): boolean {
  if (rule.host === null) return true;
  return rule.host.includes(':') ? rule.host === url.host.toLowerCase() : rule.host === url.hostname.toLowerCase();
}

/**
 * Returns `url` moved onto the first matching mirror, or `url` itself when none matches.
 * Host-specific rules win over a catch-all regardless of their order in the spec.
 *
 * @example
 *   rewriteToMirror(new URL('https://huggingface.co/org/m/resolve/main/x.gguf'), parseMirrorSpec('http://127.0.0.1:9000/hf'))
 *   // → http://127.0.0.1:9000/hf/org/m/resolve/main/x.gguf
 */
export function rewriteToMirror(url: URL, rules: MirrorRule[]): URL {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return url;
  const rule = rules.find((r) => r.host !== null && ruleMatches(r, url)) ?? rules.find((r) => r.host === null);
  if (!rule) return url;
  const out = new URL(rule.base.href);
  out.pathname = `${rule.base.pathname.replace(/\/+$/, '')}${url.pathname}`;
  out.search = url.search;
  // Credentials in the source belong to the source's host; they never travel to the mirror.
  return out;
}
