import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../api/api-error.js';
import { createSiteLimits } from './site-limits.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof ApiError ? error.code : 'other';
  }
};

const codeOfAsync = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return null;
  } catch (error) {
    return error instanceof ApiError ? error.code : 'other';
  }
};
/** Lets every turn already handed out run its callbacks. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createSiteLimits', () => {
  it('allows requestsPerMinute calls per origin in a sliding minute, each origin on its own', () => {
    let time = 0;
    const limits = createSiteLimits({ requestsPerMinute: () => 3, maxConcurrent: () => 1, now: () => time });
    for (let i = 0; i < 3; i += 1) limits.admit('https://a.example');
    assert.equal(codeOf(() => limits.admit('https://a.example')), 'webai_rate_limited');
    assert.equal(codeOf(() => limits.admit('https://b.example')), null);
    time = 60_001;
    assert.equal(codeOf(() => limits.admit('https://a.example')), null);
  });

  it("lets a site's generations past the cap wait their turn, first come first served, each slot released once (a page's Promise.all over 4 inputs failed 2 with QuotaExceededError)", async () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 100, maxConcurrent: () => 2, now: () => 0 });
    const first = await limits.startGeneration('https://a.example');
    await limits.startGeneration('https://a.example');
    const order: string[] = [];
    const third = limits.startGeneration('https://a.example').then((release) => (order.push('third'), release));
    const fourth = limits.startGeneration('https://a.example').then((release) => (order.push('fourth'), release));
    await settle();
    assert.deepEqual(order, [], 'both wait while two run');
    first();
    first();
    await settle();
    assert.deepEqual(order, ['third'], 'one release, one turn (a second call of the same release frees nothing)');
    (await third)();
    await fourth;
    assert.deepEqual(order, ['third', 'fourth']);
  });

  it('hands a released slot to the turn waiting for it: one asked for in the same instant waits behind it, and no more run than the cap', async () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 100, maxConcurrent: () => 1, now: () => 0 });
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const run = (name: string) =>
      limits.startGeneration('https://a.example').then((release) => {
        running += 1;
        most = Math.max(most, running);
        started.push(name);
        return () => {
          running -= 1;
          release();
        };
      });
    const first = await run('first');
    const waiter = run('waiter');
    await settle();
    first();
    const newcomer = run('newcomer');
    (await waiter)();
    (await newcomer)();
    assert.deepEqual(started, ['first', 'waiter', 'newcomer']);
    assert.equal(most, 1);
  });

  it('refuses a generation past the turns a site may have waiting (8 per slot), and one whose caller gave up leaves the line', async () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 100, maxConcurrent: () => 1, now: () => 0 });
    const running = await limits.startGeneration('https://a.example');
    const gaveUp = new AbortController();
    const leaving = limits.startGeneration('https://a.example', gaveUp.signal);
    const waiting = Array.from({ length: 7 }, () => limits.startGeneration('https://a.example'));
    assert.equal(await codeOfAsync(limits.startGeneration('https://a.example')), 'webai_rate_limited');
    gaveUp.abort();
    assert.equal(await codeOfAsync(leaving), 'cancelled');
    const another = limits.startGeneration('https://a.example');
    assert.equal(await codeOfAsync(limits.startGeneration('https://b.example').then((release) => release())), null, 'another site has slots of its own');
    running();
    for (const turn of [...waiting, another]) (await turn)();
  });

  it("counts a site's subdomains, ports and schemes together: another subdomain gets no minute or generation slots of its own", async () => {
    const limits = createSiteLimits({ requestsPerMinute: () => 2, maxConcurrent: () => 1, now: () => 0 });
    limits.admit('https://a.evil.com');
    limits.admit('http://b.evil.com:8080');
    assert.equal(codeOf(() => limits.admit('https://c.evil.com')), 'webai_rate_limited');
    const running = await limits.startGeneration('https://a.evil.com');
    let turned = false;
    const turn = limits.startGeneration('https://d.evil.com').then((release) => ((turned = true), release));
    await settle();
    assert.equal(turned, false, "another subdomain waits for the site's slot");
    running();
    (await turn)();
    assert.equal(codeOf(() => limits.admit('https://alice.github.io')), null);
    assert.equal(codeOf(() => limits.admit('https://bob.github.io')), null);
  });
});
