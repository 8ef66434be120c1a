import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { PluginMatch } from '../plugins/plugin-registry.js';
import { allowAiPlugsInHeader, type CspContext } from './csp-policy.js';
import { buildInjectionMarkup, type InjectionMarkup, type MarkupOptions } from './injection-markup.js';

/** Per-document values go into these holes; random per process, ASCII letters and digits only, so no escaping changes them. */
const HOLE = randomBytes(12).toString('hex');
const BRIDGE_HOLE = `aiplugsbridge${HOLE}`;
const NONCE_HOLE = `aiplugsnonce${HOLE}`;
const HOLES = new RegExp(`(${BRIDGE_HOLE}|${NONCE_HOLE})`);

/** A string with holes, split once; filling it is a join. */
type Template = string[];

const fill = (template: Template, bridgeBase: string, nonce: string): string =>
  template.map((part) => (part === BRIDGE_HOLE ? bridgeBase : part === NONCE_HOLE ? nonce : part)).join('');

/**
 * A markup template with its text already in bytes (ASCII, so latin1 is exact): a document's
 * markup is then one copy of those bytes, not a 33 KB string built and encoded again per document
 * (the inline runtime is most of it).
 */
type EncodedTemplate = Array<Buffer | 'bridge' | 'nonce'>;

const encode = (template: Template): EncodedTemplate => template.map((part) => (part === BRIDGE_HOLE ? 'bridge' : part === NONCE_HOLE ? 'nonce' : Buffer.from(part, 'latin1')));

const fillBytes = (template: EncodedTemplate, bridgeBase: string, nonce: string): Buffer =>
  Buffer.concat(template.map((part) => (part === 'bridge' ? Buffer.from(bridgeBase, 'latin1') : part === 'nonce' ? Buffer.from(nonce, 'latin1') : part)));

const templateBytes = (template: EncodedTemplate): number => template.reduce((bytes, part) => bytes + (typeof part === 'string' ? 0 : part.length), 0);

/** A document's injection (injection-markup.ts) in bytes. */
export type InjectionBytes = { [Part in keyof InjectionMarkup]: Buffer };
type InjectionTemplates = { [Part in keyof InjectionMarkup]: EncodedTemplate };

/** Policies (and markups) seen: bounded, since both come from what pages and plugins send. */
const MAX_ENTRIES = 256;
const MAX_KEY_CHARS = 16 * 1024;
/** Markups also by their bytes: each holds the runtime and its plugins' inline scripts (up to 64 KiB a file). */
const MAX_MARKUP_BYTES = 32 * 1024 * 1024;

function remember<T extends {}>(cache: LRUCache<string, T>, key: string, make: () => T): T {
  let template = cache.get(key);
  if (!template) {
    template = make();
    if (key.length <= MAX_KEY_CHARS) cache.set(key, template);
  }
  return template;
}

/**
 * Which plugin files a match set injects: plugin id, revision (changes with any file of the
 * plugin) and the positions of its matched content scripts.
 */
function matchKey(matches: PluginMatch[]): string {
  return matches.map(({ plugin, scripts }) => `${plugin.id}@${plugin.revision}:${scripts.map((script) => plugin.contentScripts.findIndex((compiled) => compiled.script === script)).join(',')}`).join(';');
}

export interface DocumentTemplates {
  /** `buildInjectionMarkup(matches, options)` as bytes, built once per plugin set and options, filled per document. */
  markup(matches: PluginMatch[], options: MarkupOptions): InjectionBytes;
  /** `allowAiPlugsInHeader(value, context)`, parsed once per policy and origin, filled with each document's nonce. */
  cspHeader(value: string, context: CspContext): string;
}

/**
 * The per-document parts that do not depend on the document: the injected markup and the CSP
 * rewrite are computed once with holes for the document's bridge base and nonce, so each document
 * only pays for filling them in. A plugin change gives a new revision, so a new entry.
 */
export function createDocumentTemplates(): DocumentTemplates {
  // lru-cache: the byte bound, with the least recently used markup going first.
  const markups = new LRUCache<string, InjectionTemplates>({
    max: MAX_ENTRIES,
    maxSize: MAX_MARKUP_BYTES,
    sizeCalculation: ({ markup, headEnd }) => templateBytes(markup) + templateBytes(headEnd) + 1,
  });
  const policies = new LRUCache<string, Template>({ max: MAX_ENTRIES });
  return {
    markup(matches, options) {
      const nonced = options.nonce !== undefined;
      const key = `${options.version}\n${options.apiPort}\n${nonced}\n${options.xml === true}\n${options.inlineStart === true}\n${options.unavailable?.join(',') ?? ''}\n${JSON.stringify(options.webAi ?? null)}\n${matchKey(matches)}`;
      const template = remember(markups, key, () => {
        // The head end's origin goes in with its bridge base (its URLs are the only ones that carry it).
        const { markup, headEnd } = buildInjectionMarkup(matches, { ...options, bridgeBase: BRIDGE_HOLE, origin: undefined, nonce: nonced ? NONCE_HOLE : undefined });
        return { markup: encode(markup.split(HOLES)), headEnd: encode(headEnd.split(HOLES)) };
      });
      const filled = (part: EncodedTemplate, bridgeBase: string) => fillBytes(part, bridgeBase, options.nonce ?? '');
      return { markup: filled(template.markup, options.bridgeBase), headEnd: filled(template.headEnd, `${options.origin ?? ''}${options.bridgeBase}`) };
    },
    cspHeader(value, context) {
      const template = remember(policies, `${context.origin}\n${value}`, () => allowAiPlugsInHeader(value, { ...context, nonce: NONCE_HOLE }).split(HOLES));
      return fill(template, '', context.nonce);
    },
  };
}
