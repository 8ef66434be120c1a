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
    const users = [call(undefined), call(undefined), call(undefined)];
    assert.equal(callToDisplace(users, callsByCaller(users), 'page.test'), undefined, 'a page never takes one of the user’s own');
  });

  it('runs waiting calls by turns: the caller served (or come) longest ago first, its oldest call', () => {
    const turns = new CallerTurns();
    const queue = [call('a'), call('a'), call('b'), call(undefined), call('b')];
    queue.forEach((waiting, index) => turns.arrived(waiting.site, queue.slice(0, index + 1)));
    const order: Caller[] = [];
    while (queue.length > 0) {
      const [next] = queue.splice(turns.next(queue), 1);
      turns.served(next!.site, queue);
      order.push(next!.site);
    }
    assert.deepEqual(order, ['a', 'b', undefined, 'a', 'b']);
  });

  it('serves a caller that has waited before new names, however many come and go, and forgets those with nothing waiting', () => {
    const turns = new CallerTurns();
    const queue = [call('good.test')];
    turns.arrived('good.test', queue);
    turns.served('good.test', []);
    turns.arrived('good.test', queue);
    // Each round a page's owner queues a call under a new site name (free: *.github.io), and one call runs.
    let rounds = 0;
    for (; rounds < 10_000; rounds += 1) {
      queue.push(call(`a${rounds}.github.io`));
      turns.arrived(`a${rounds}.github.io`, queue);
      const [next] = queue.splice(turns.next(queue), 1);
      turns.served(next!.site, queue);
      if (next!.site === 'good.test') break;
    }
    assert.ok(rounds < 3, `good.test ran after ${rounds} rounds`);
    for (let site = 0; site < 10_000; site += 1) turns.arrived(`b${site}.github.io`, queue);
    assert.ok((turns as unknown as { lastServed: Map<Caller, number> }).lastServed.size <= 257 + queue.length);
  });
});
