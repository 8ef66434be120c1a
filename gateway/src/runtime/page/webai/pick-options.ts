/** Members that hold one language tag, and those that hold a list of them. */
const LANGUAGE_KEYS = new Set(['outputLanguage', 'sourceLanguage', 'targetLanguage', 'correctionExplanationLanguage']);
const LANGUAGE_LIST_KEYS = new Set(['expectedInputLanguages', 'expectedContextLanguages']);
/** Members that hold a list of `{type, languages}` (the LanguageModel's expected inputs and outputs). */
const EXPECTED_KEYS = new Set(['expectedInputs', 'expectedOutputs']);

/**
 * Language tags canonicalized and deduplicated, as the specs ask (`EN-us` → `en-US`); a list
 * with a tag that is no tag at all is left as it came, for the gateway to refuse.
 */
function canonicalTags(tags: unknown[]): unknown[] {
  try {
    return tags.every((tag) => typeof tag === 'string') ? Intl.getCanonicalLocales(tags as string[]) : tags;
  } catch {
    return tags;
  }
}

/** An expected input or output with its `languages` canonical. */
function withCanonicalLanguages(item: unknown): unknown {
  const languages = item && typeof item === 'object' ? (item as { languages?: unknown }).languages : undefined;
  return Array.isArray(languages) ? { ...(item as object), languages: canonicalTags(languages) } : item;
}

/**
 * A WebIDL dictionary as the gateway takes it: only the members the API knows (unknown members
 * are ignored, as WebIDL ignores them), strings as strings, language tags canonical, `undefined`
 * left out. Values are checked by the gateway, whose refusals become TypeErrors here. Pure.
 *
 * @example
 *   pickOptions({ type: 'tldr', signal, extra: 1 }, ['type', 'format']); // -> { type: 'tldr' }
 *   pickOptions({ outputLanguage: 'EN' }, ['outputLanguage']); // -> { outputLanguage: 'en' }
 */
export function pickOptions(raw: unknown, keys: readonly string[]): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' && typeof raw !== 'function') throw new TypeError('The options argument must be an object');
  const source = raw as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of keys) {
    const value = source[key];
    if (value === undefined) continue;
    const plain = Array.isArray(value) ? value.map((item) => (typeof item === 'string' || typeof item === 'object' ? item : String(item))) : value;
    if (LANGUAGE_LIST_KEYS.has(key) && Array.isArray(plain)) picked[key] = canonicalTags(plain);
    else if (LANGUAGE_KEYS.has(key) && typeof plain === 'string') picked[key] = canonicalTags([plain])[0];
    else if (EXPECTED_KEYS.has(key) && Array.isArray(plain)) picked[key] = plain.map(withCanonicalLanguages);
    else picked[key] = plain;
  }
  return picked;
}

/** An API's enum attribute: the value asked for, else the spec's default. */
export function attributeOf(options: Record<string, unknown>, key: string, fallback: unknown): unknown {
  const value = options[key];
  if (value === undefined) return fallback;
  return Array.isArray(value) ? Object.freeze(value.slice()) : value;
}
