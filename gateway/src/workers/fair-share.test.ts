import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallerTurns, callsByCaller, callToDisplace, type Caller } from './fair-share.js';

const call = (site: Caller, settled = false) => ({ site, settled });

describe('fair share of a plugin’s places', () => {
  it('counts what each caller holds, the user’s own calls as one caller, answered calls as nothing', () => {
    const counts = callsByCaller([call('a'), call('a'), call(undefined), call('b', true)]);
    assert.deepEqual([...counts], [['a', 2], [undefined, 1]]);
  });

  it('takes the newest waiting place of the caller holding most, only from one holding two more', () => {
    const queue = [call('a'), call('b'), call('a'), call('b'), call('a')];
    const counts = callsByCaller(queue);
    assert.equal(callToDisplace(queue, counts, 'c'), queue[4], 'a holds 3, c none');
    assert.equal(callToDisplace(queue, counts, 'b'), undefined, 'b holds 2, one less than a: taking one back and forth would never end');
    assert.equal(callToDisplace(queue, counts, undefined), queue[4], 'the user’s own calls are a caller like the others');
    assert.equal(callToDisplace([call('a')], callsByCaller([call('a'), call('a'), call('a')]), 'a'), undefined, 'never from the caller itself');
  });

  it('runs waiting calls by turns: the caller served longest ago (or never) first, its oldest call', () => {
    const turns = new CallerTurns();
    const queue = [call('a'), call('a'), call('b'), call(undefined), call('b')];
    const order: Caller[] = [];
    while (queue.length > 0) {
      const [next] = queue.splice(turns.next(queue), 1);
      turns.served(next!.site, queue);
      order.push(next!.site);
    }
    assert.deepEqual(order, ['a', 'b', undefined, 'a', 'b']);
  });

  it('forgets callers with nothing waiting once it remembers many: a page choosing its site names cannot grow it', () => {
    const turns = new CallerTurns();
    for (let site = 0; site < 10_000; site += 1) turns.served(`site-${site}.test`, [call('kept.test')]);
    turns.served('kept.test', []);
    const queue = [call('site-9999.test'), call('kept.test'), call('new.test')];
    // kept.test was served last; new.test never: it goes first.
    assert.equal(turns.next(queue), 2);
    assert.ok((turns as unknown as { lastServed: Map<Caller, number> }).lastServed.size <= 257);
  });
});
