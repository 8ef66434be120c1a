import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const PATCH_TEST = fileURLToPath(new URL('../../gateway/src/proxy/mockttp-patch.test.ts', import.meta.url));

export interface PatchTestRun {
  /** Each leaf test's name and whether it passed. */
  results: Array<{ name: string; passed: boolean }>;
  /** The run's time limit ended it: the tests it had not reached are in no list, neither passed nor failed. */
  timedOut: boolean;
  code: number | null;
  /** The tail of what the run printed, for a failure message. */
  output: string;
}

/**
 * Runs gateway/src/proxy/mockttp-patch.test.ts in a test run of its own: on another Node binary,
 * or against another copy of mockttp (`env`), for the tests that check the patch tests themselves.
 */
export async function runPatchTests(node: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<PatchTestRun> {
  // Without NODE_TEST_CONTEXT the child is a test run of its own, not a file of this one.
  const { NODE_TEST_CONTEXT: _ignored, ...childEnv } = env;
  // A run that hangs there (a request the unpatched proxy never answers) ends, not the whole run.
  // The runner applies this to the file as a whole: the tests it has not reached by then are not listed.
  const child = spawn(node, ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-timeout=${timeoutMs}`, PATCH_TEST], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let tap = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (tap += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  // Leaf tests are the indented result lines; suites are at column 0.
  const results = [...tap.matchAll(/^ {4}(not )?ok \d+ - (.+?)(?: # SKIP.*)?$/gm)].map((match) => ({ passed: !match[1], name: match[2] ?? '' }));
  // The file is a test of its own at column 0, named by its path: the time limit fails it as a timeout.
  const fileBlock = [...tap.matchAll(/^(?:not )?ok \d+ - (.+)\n((?: {2}.*\n)*)/gm)].find((match) => match[1] === PATCH_TEST)?.[2] ?? '';
  const timedOut = fileBlock.includes("failureType: 'testTimeoutFailure'");
  return { results, timedOut, code, output: `${tap.slice(-2000)}\n${stderr.slice(-2000)}` };
}
