/**
 * Heavy Math Solver's backend against text a page may send it (helper-79): a few characters that
 * multiply out to a polynomial of degree 4,096 took 36 s of CPU, and a page sending 899 of them
 * kept the only worker busy until its timeout while every other site's call waited. Every number
 * and polynomial is now bounded as it is made; such text is skipped with its reason at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixturePlugin, workerManagers } from '../../gateway/src/workers/test-support.js';

const REPO = new URL('../../', import.meta.url).pathname;

interface Solved {
  problems: Array<{ answer: string }>;
  skipped: Array<{ input: string; reason: string }>;
}

describe('heavy-math-solver backend: what a page sends', () => {
  const manager = workerManagers();

  it('skips a power that would grow past its bounds before computing it, and still solves the rest', async () => {
    // A hang guard, not a measure: before, the first text took 36 s of CPU and the second 800 times that.
    const { workers } = manager({ requestTimeoutMs: 30_000 });
    const plugin = await fixturePlugin('heavy-math-solver', join(REPO, 'plugins'));
    const solve = async (text: string) => (await workers.infer(plugin, { text }, new AbortController().signal)) as Solved;
    assert.deepEqual(await solve('((x+1)^64)^64 = 1'), { problems: [], skipped: [{ input: '((x+1)^64)^64 = 1', reason: "the variable's power grows past 8" }] });
    const many = await solve(Array.from({ length: 800 }, (_, i) => `((x+${i + 1})^64)^64 = 1`).join(' and '));
    assert.equal(many.skipped.length, 800);
    assert.equal(many.problems.length, 0);
    const fine = await solve('Solve (x+1)^3 - x^3 = 7, then 2^-3 and 10^40 / 10^38, but not 3^64^64 or 7^64^1.');
    assert.deepEqual(
      fine.problems.map((problem) => problem.answer),
      ['x = -2 or x = 1', '2^-3 = 1/8', '10^40 / 10^38 = 100', `7^64^1 = ${7n ** 64n}`],
    );
    assert.deepEqual(fine.skipped, [{ input: '3^64^64', reason: 'only whole exponents up to 64 are supported' }]);
  });

  it('reads long runs of spaces and letters in linear time, and a huge number costs only its own stretch (helper-80)', async () => {
    // A hang guard a hundred times what it takes: before, the regex that strips lone letters took 3.7 s on the first text.
    const { workers } = manager({ requestTimeoutMs: 2_000 });
    const plugin = await fixturePlugin('heavy-math-solver', join(REPO, 'plugins'));
    const solve = async (text: string) => (await workers.infer(plugin, { text }, new AbortController().signal)) as Solved;
    assert.deepEqual((await solve(`1${' '.repeat(19_998)}%`)).problems.length, 1);
    assert.deepEqual((await solve(`1+${' a'.repeat(9_998)} 1`)).problems.length, 0);
    // Before: Python's 4,300-digit limit raised a ValueError, and the whole text failed.
    const long = await solve(`${'1'.repeat(5_000)}+1 and 2+2`);
    assert.deepEqual(long.problems.map((problem) => problem.answer), ['2+2 = 4']);
    assert.match(long.skipped[0]?.reason ?? '', /a number of more than 400 digits/);
  });
});
