import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

/**
 * Lists every skipped e2e test (and every part of a test noted as skipped) with its reason, after
 * the list reporter's summary; under CI=true any of them fails the run: a CI machine has every
 * tool `.ci/run` installs, so nothing has a reason to skip there. (Tests a failure in serial mode
 * kept from running also count as skipped, but that run has failed already.)
 */
export default class SkippedTestsReporter implements Reporter {
  private readonly skipped: string[] = [];

  onTestEnd(test: TestCase, result: TestResult): void {
    // A runtime annotation shows up on both the test and its result: each reason once.
    const reasons = (type: string) => [...new Set([...test.annotations, ...result.annotations].filter((note) => note.type === type).map((note) => note.description ?? ''))];
    if (result.status === 'skipped') this.skipped.push(`${test.titlePath().filter(Boolean).join(' › ')}${reasons('skip').length ? ` (${reasons('skip').join('; ')})` : ''}`);
    for (const part of reasons('skipped part')) this.skipped.push(`${test.titlePath().filter(Boolean).join(' › ')}: part skipped (${part})`);
  }

  async onEnd(result: FullResult): Promise<{ status: FullResult['status'] } | undefined> {
    if (this.skipped.length === 0) {
      console.log('No e2e test skipped.');
      return undefined;
    }
    console.log(`${this.skipped.length} e2e test(s) or parts did not run:`);
    for (const line of this.skipped) console.log(`  ${line}`);
    if (process.env.CI !== 'true' && process.env.CI !== '1') return undefined;
    console.log('CI=true: a CI run must not skip anything (install what .ci/run installs); failing the run.');
    return { status: result.status === 'passed' ? 'failed' : result.status };
  }

  printsToStdio(): boolean {
    return false; // the list reporter owns the terminal; these lines come after its summary
  }
}
