// Beside the runtime's other tests: runtime/page/ is typechecked for the DOM alone, without node:test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createToJson } from './page/page-json.js';

type Patchable = { toJSON?: unknown };

/** Runs `body` with Prototype.js 1.6's Array and Date toJSON in place, as a page that loads it has them. */
function withPrototypeJs<T>(body: () => T): T {
  const arrayProto = Array.prototype as Patchable;
  const dateProto = Date.prototype as Patchable;
  const dateToJson = dateProto.toJSON;
  arrayProto.toJSON = function (this: unknown[]) {
    return `[${this.map(String).join(', ')}]`;
  };
  dateProto.toJSON = function (this: Date) {
    return `"${this.toISOString()}"`;
  };
  try {
    return body();
  } finally {
    delete arrayProto.toJSON;
    dateProto.toJSON = dateToJson;
  }
}

describe('the runtime JSON encoder', () => {
  const toJson = createToJson({ stringify: JSON.stringify, isArray: Array.isArray, Date, dateToJson: Date.prototype.toJSON });
  const payload = () => ({ messages: [{ role: 'user', content: 'hi' }], ids: [1, [2, 3]], when: new Date(0), own: { toJSON: () => 'own' } });
  const expected = '{"messages":[{"role":"user","content":"hi"}],"ids":[1,[2,3]],"when":"1970-01-01T00:00:00.000Z","own":"own"}';

  it('encodes arrays and dates as JSON does, with a page library on their prototypes', () => {
    assert.equal(toJson(payload()), expected);
    assert.equal(withPrototypeJs(() => toJson(payload())), expected);
    // What JSON.stringify itself gave on such a page: arrays as strings.
    assert.notEqual(withPrototypeJs(() => JSON.stringify(payload())), expected);
    assert.equal(withPrototypeJs(() => toJson([1, 2])), '[1,2]');
  });

  it("honours a subclass's toJSON and runs a getter once", () => {
    class Tagged extends Array<number> {
      toJSON() {
        return 'tagged';
      }
    }
    let reads = 0;
    const payload = {
      tagged: Tagged.from([1]),
      get counted() {
        reads += 1;
        return [1];
      },
    };
    assert.equal(withPrototypeJs(() => toJson(payload)), '{"tagged":"tagged","counted":"[1]"}');
    assert.equal(reads, 1);
  });

  it("keeps an object's own toJSON, and hands the replacer what it would have got", () => {
    const seen: string[] = [];
    const out = withPrototypeJs(() => toJson({ a: [1], b: { toJSON: () => 7 } }, (key, value) => (seen.push(`${key}:${Array.isArray(value) ? 'array' : typeof value}`), value)));
    assert.equal(out, '{"a":[1],"b":7}');
    assert.deepEqual(seen, [':object', 'a:array', '0:number', 'b:number']);
  });
});
