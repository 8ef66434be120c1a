/**
 * Content-Security-Policy rewriting for `nonce` mode: keep the site's policy and let exactly
 * AiPlugs' own scripts, styles and bridge calls through. Works on the serialized policy text, so
 * the same code serves response headers and `<meta http-equiv>` tags.
 */

export interface CspContext {
  /** Per-response nonce (base64) carried by every element AiPlugs injects. */
  nonce: string;
  /** The page's origin, e.g. `https://example.com`: the bridge lives under `<origin>/__aiplugs/`. */
  origin: string;
}

/** The Trusted Types policy name the page runtime registers. */
export const TRUSTED_TYPES_POLICY = 'aiplugs';

type Directive = { name: string; values: string[] };

export function parsePolicy(policy: string): Directive[] {
  return policy
    .split(';')
    .map((part) => part.trim().split(/\s+/).filter(Boolean))
    .filter((tokens) => tokens.length > 0)
    .map(([name, ...values]) => ({ name: (name ?? '').toLowerCase(), values }));
}

export function serializePolicy(directives: Directive[]): string {
  return directives.map(({ name, values }) => [name, ...values].join(' ')).join('; ');
}

const isNonceOrHash = (value: string) => /^'(nonce|sha256|sha384|sha512)-/i.test(value);
const has = (values: string[], keyword: string) => values.some((value) => value.toLowerCase() === keyword);

/**
 * Adds our nonce to one source list, and nothing else: no host or path source, so a script the
 * page did not nonce stays blocked even if it points at the bridge. A nonce would switch off a
 * page's `'unsafe-inline'`, so a list that relies on it (no nonce or hash of its own) gets the
 * bridge's path instead (`https://site/__aiplugs/`, which only the gateway answers through the
 * proxy): there every inline script runs already, so the path lets no page script do more than it
 * could, and without it a list that does not name the site (scripts from a CDN only) blocked every
 * plugin file, and sent the site's report collector a report naming the user's plugins per file.
 */
function allowOurElements(values: string[], context: CspContext): string[] {
  const kept = values.filter((value) => value.toLowerCase() !== "'none'");
  const pageUsesUnsafeInline = has(kept, "'unsafe-inline'") && !kept.some(isNonceOrHash) && !has(kept, "'strict-dynamic'");
  if (!pageUsesUnsafeInline) return [...kept, `'nonce-${context.nonce}'`];
  return has(kept, '*') ? values : [...kept, `${context.origin}/__aiplugs/`];
}

function allowBridgeConnections(values: string[], context: CspContext): string[] {
  if (has(values, '*')) return values;
  const host = context.origin.replace(/^https?:\/\//, '');
  const wsScheme = context.origin.startsWith('https:') ? 'wss' : 'ws';
  return [...values.filter((value) => value.toLowerCase() !== "'none'"), `${context.origin}/__aiplugs/`, `${wsScheme}://${host}/__aiplugs/`];
}

/** Ensures `name` exists when the policy restricts it through `default-src`, copying the fallback. */
function withFallback(directives: Directive[], names: string[]): Directive[] {
  const present = (name: string) => directives.some((directive) => directive.name === name);
  if (names.some(present)) return directives;
  const fallback = directives.find((directive) => directive.name === 'default-src');
  return fallback ? [...directives, { name: names[0] ?? '', values: [...fallback.values] }] : directives;
}

/**
 * Rewrites one policy so that AiPlugs' injected elements (which carry `nonce`) and its bridge
 * requests are allowed, and its Trusted Types policy may be created; nothing else is loosened.
 */
export function allowAiPlugs(policy: string, context: CspContext): string {
  let directives = parsePolicy(policy);
  directives = withFallback(directives, ['script-src', 'script-src-elem']);
  directives = withFallback(directives, ['style-src', 'style-src-elem']);
  directives = withFallback(directives, ['connect-src']);
  directives = directives.map((directive) => {
    switch (directive.name) {
      case 'script-src':
      case 'script-src-elem':
      case 'style-src':
      case 'style-src-elem':
        return { ...directive, values: allowOurElements(directive.values, context) };
      case 'connect-src':
        return { ...directive, values: allowBridgeConnections(directive.values, context) };
      case 'trusted-types':
        if (has(directive.values, '*') || has(directive.values, TRUSTED_TYPES_POLICY)) return directive;
        return { ...directive, values: [...directive.values.filter((value) => value.toLowerCase() !== "'none'"), TRUSTED_TYPES_POLICY] };
      default:
        return directive;
    }
  });
  return serializePolicy(directives);
}

/**
 * Whether an enforced policy (a `Content-Security-Policy` header's value, policies separated by
 * commas) puts the document in an opaque origin: a `sandbox` directive without `allow-same-origin`.
 * Such a page cannot reach the bridge, though it is on its own site's path.
 */
export function sandboxesIntoOpaqueOrigin(value: string | undefined): boolean {
  if (value === undefined || !/sandbox/i.test(value)) return false;
  return value.split(',').some((policy) => parsePolicy(policy).some(({ name, values }) => name === 'sandbox' && !has(values, 'allow-same-origin')));
}

/** A header value may hold several policies separated by commas; each is rewritten on its own. */
export function allowAiPlugsInHeader(value: string, context: CspContext): string {
  return value
    .split(',')
    .map((policy) => policy.trim())
    .filter(Boolean)
    .map((policy) => allowAiPlugs(policy, context))
    .join(', ');
}
