/**
 * JSON.stringify as the runtime took it at start, deaf to what a page's libraries add to the
 * built-in prototypes. Prototype.js (1.6, still on many older sites) sets `Array.prototype.toJSON`
 * to return its own JSON text, and `Date.prototype.toJSON` to return a quoted one; JSON.stringify
 * calls them first, so every array a plugin sent reached its backend as a string. A replacer sees
 * the value after `toJSON` ran, but it is also given the holder, so it can take the original back:
 * only when `toJSON` made a string of an array or a date, only when that `toJSON` is the one on
 * `Array.prototype` or `Date.prototype` (a subclass's or the object's own is honoured), and only
 * from a data property (a getter is not run twice).
 *
 * @example
 *   const toJson = createToJson({ stringify: JSON.stringify, isArray: Array.isArray, Date, dateToJson: Date.prototype.toJSON });
 *   Array.prototype.toJSON = function () { return 'x'; };
 *   toJson({ list: [1, 2] }); // → '{"list":[1,2]}'
 */
export interface JsonBuiltins {
  stringify: typeof JSON.stringify;
  isArray: (value: unknown) => value is unknown[];
  Date: DateConstructor;
  dateToJson: (this: Date, key?: unknown) => string;
}

type Replacer = (key: string, value: unknown) => unknown;

export function createToJson(builtins: JsonBuiltins): (value: unknown, replacer?: Replacer) => string {
  const { stringify, isArray, Date: NativeDate } = builtins;
  // Taken now, before any page script runs: a page may replace these too.
  const ownDescriptor = Object.getOwnPropertyDescriptor;
  const arrayPrototype = Array.prototype as unknown as { toJSON?: unknown };
  const datePrototype = NativeDate.prototype as unknown as { toJSON?: unknown };
  const dateToJson = Function.prototype.call.bind(builtins.dateToJson) as (date: Date) => string;
  /** The array or date a page library's prototype toJSON turned into `converted`, or undefined. */
  const original = (holder: object, key: string): unknown[] | Date | undefined => {
    const descriptor = ownDescriptor(holder, key);
    const value: unknown = descriptor && 'value' in descriptor ? descriptor.value : undefined;
    if (value === null || typeof value !== 'object') return undefined;
    const { toJSON } = value as { toJSON?: unknown };
    if (isArray(value)) return toJSON !== undefined && toJSON === arrayPrototype.toJSON ? value : undefined;
    return value instanceof NativeDate && toJSON === datePrototype.toJSON && toJSON !== builtins.dateToJson ? value : undefined;
  };
  return (value, replacer) =>
    stringify(value, function (this: object, key: string, converted: unknown) {
      let taken = converted;
      if (typeof converted === 'string') {
        const libraryMade = original(this, key);
        if (libraryMade !== undefined) taken = isArray(libraryMade) ? libraryMade : dateToJson(libraryMade);
      }
      return replacer ? replacer(key, taken) : taken;
    });
}
