import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributeOf, pickOptions } from './page/webai/pick-options.js';

// The pure parts of the page runtime's Web AI globals (page/webai/), tested in Node: the page
// tsconfig has no Node types, so their tests live here.

describe('pickOptions', () => {
  it('keeps only the known members that are given, like a WebIDL dictionary', () => {
    const signal = new AbortController().signal;
    assert.deepEqual(pickOptions({ type: 'tldr', format: undefined, signal, monitor: () => {}, extra: 1 }, ['type', 'format', 'length']), { type: 'tldr' });
    assert.deepEqual(pickOptions(undefined, ['type']), {});
    assert.deepEqual(pickOptions(null, ['type']), {});
  });

  it('turns non-string list items into strings and keeps message objects', () => {
    assert.deepEqual(pickOptions({ expectedInputLanguages: ['en', 7] }, ['expectedInputLanguages']), { expectedInputLanguages: ['en', '7'] });
    const prompts = [{ role: 'system', content: 'x' }];
    assert.deepEqual(pickOptions({ initialPrompts: prompts }, ['initialPrompts']), { initialPrompts: prompts });
  });

  it('refuses options that are not an object with a TypeError', () => {
    assert.throws(() => pickOptions('tldr', ['type']), TypeError);
    assert.throws(() => pickOptions(3, ['type']), TypeError);
  });
});

describe('attributeOf', () => {
  it('answers the option, else the default; lists come back frozen copies', () => {
    assert.equal(attributeOf({}, 'type', 'key-points'), 'key-points');
    assert.equal(attributeOf({ type: 'tldr' }, 'type', 'key-points'), 'tldr');
    const list = ['en'];
    const value = attributeOf({ expectedInputLanguages: list }, 'expectedInputLanguages', null) as string[];
    assert.deepEqual(value, ['en']);
    assert.ok(Object.isFrozen(value) && value !== list);
  });
});
