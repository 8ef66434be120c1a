import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const PATCH_TEST = fileURLToPath(new URL('../../gateway/src/proxy/mockttp-patch.test.ts', import.meta.url));

export interface PatchTestRun {
  /** Each leaf test's name and whether it passed. */
  results: Array<{ name: string; passed: boolean }>;
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
  // The runner applies this to the file as a whole: what has not finished by then is cancelled.
  const child = spawn(node, ['--import', 'tsx', '--test', '--test-reporter=tap', `--test-timeout=${timeoutMs}`, PATCH_TEST], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let tap = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (tap += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  // Leaf tests are the indented result lines; suites are at column 0.
  const results = [...tap.matchAll(/^ {4}(not )?ok \d+ - (.+?)(?: # SKIP.*)?$/gm)].map((match) => ({ passed: !match[1], name: match[2] ?? '' }));
  return { results, code, output: `${tap.slice(-2000)}\n${stderr.slice(-2000)}` };
}
