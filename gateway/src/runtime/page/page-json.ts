/**
 * JSON.stringify as the runtime took it at start, deaf to what a page's libraries add to the
 * built-in prototypes. Prototype.js (1.6, still on many older sites) sets `Array.prototype.toJSON`
 * to return its own JSON text, and `Date.prototype.toJSON` to return a quoted one; JSON.stringify
 * calls them first, so every array a plugin sent reached its backend as a string. A replacer sees
 * the value after `toJSON` ran, but it is also given the holder, so it can take the original back.
 * An array's or a date's own `toJSON`, and any other object's, is still honoured.
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
  // Taken now, before any page script runs: a page may replace `Object.hasOwn` or `Function.prototype.call` too.
  const hasOwn = Object.hasOwn;
  const dateToJson = Function.prototype.call.bind(builtins.dateToJson) as (date: Date) => string;
  return (value, replacer) =>
    stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
      const original = this[key];
      let taken = converted;
      if (original !== null && typeof original === 'object' && !hasOwn(original, 'toJSON')) {
        if (isArray(original)) taken = original;
        else if (original instanceof NativeDate) taken = dateToJson(original);
      }
      return replacer ? replacer(key, taken) : taken;
    });
}
