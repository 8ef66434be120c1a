/**
 * The cloud key's environment variable as the CLI reads it (from source, so no build is needed):
 * a blank `SYSTEM_API_KEY` stops the command with exit code 3 (invalid configuration, docs/CLI.md)
 * and a line naming the variable, as a blank `CLOUD_BASE_URL` already did; before, it was taken as
 * a key and sent as a bare `Authorization: Bearer`. An empty one still means "no key".
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../gateway/src/cli/main.ts', import.meta.url));

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-key-env-'));
});
after(() => rm(dataDir, { recursive: true, force: true }));

/** Runs `aiplugs plugins list --json` from source with `env` added; its exit code and stderr. */
async function cli(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const script = `const { main } = await import(${JSON.stringify(MAIN)}); await main(['node', 'aiplugs', 'plugins', 'list', '--json', '--data-dir', ${JSON.stringify(dataDir)}]);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

test('a blank SYSTEM_API_KEY stops the CLI with exit code 3, naming the variable', async () => {
  const { code, stderr } = await cli({ SYSTEM_API_KEY: '   ' });
  assert.equal(code, 3, stderr);
  assert.match(stderr, /cloud\.api_key = "   " \(from environment variable SYSTEM_API_KEY\): only whitespace/);
});

test('a blank CLOUD_BASE_URL does the same (the behaviour the key now shares)', async () => {
  const { code, stderr } = await cli({ CLOUD_BASE_URL: '  ' });
  assert.equal(code, 3, stderr);
  assert.match(stderr, /cloud\.base_url = "  " \(from environment variable CLOUD_BASE_URL\)/);
});

test('an empty SYSTEM_API_KEY= is fine (no key)', async () => {
  const { code, stderr } = await cli({ SYSTEM_API_KEY: '' });
  assert.equal(code, 0, stderr);
});
