/**
 * A WebIDL dictionary as the gateway takes it: only the members the API knows (unknown members
 * are ignored, as WebIDL ignores them), strings as strings, `undefined` left out. Values are
 * checked by the gateway, whose refusals become TypeErrors here. Pure.
 *
 * @example
 *   pickOptions({ type: 'tldr', signal, extra: 1 }, ['type', 'format']); // -> { type: 'tldr' }
 */
export function pickOptions(raw: unknown, keys: readonly string[]): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' && typeof raw !== 'function') throw new TypeError('The options argument must be an object');
  const source = raw as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of keys) {
    const value = source[key];
    if (value === undefined) continue;
    picked[key] = Array.isArray(value) ? value.map((item) => (typeof item === 'string' || typeof item === 'object' ? item : String(item))) : value;
  }
  return picked;
}

/** An API's enum attribute: the value asked for, else the spec's default. */
export function attributeOf(options: Record<string, unknown>, key: string, fallback: unknown): unknown {
  const value = options[key];
  if (value === undefined) return fallback;
  return Array.isArray(value) ? Object.freeze(value.slice()) : value;
}
