import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { forgetGatewayMallocTuning, GATEWAY_MALLOC_TUNABLE, isAllocatorVariable, withGatewayMallocTuning } from './malloc-tuning.js';

/** The dynamic loader this Node runs with, where the C library is glibc (it can list the tunables it would apply). */
function glibcLoader(): string | null {
  const report = process.report.getReport() as { header: { glibcVersionRuntime?: string }; sharedObjects: string[] };
  if (!report.header.glibcVersionRuntime) return null;
  return report.sharedObjects.find((path) => /\/ld(-linux[^/]*|64)\.so/.test(path)) ?? null;
}

describe('the allocator setting of the gateway process', () => {
  it('is added on Linux, beside the user’s other tunables, and not where they chose malloc settings of their own', () => {
    assert.deepEqual(withGatewayMallocTuning({ PATH: '/bin' }, 'linux'), { PATH: '/bin', GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLE, AIPLUGS_MALLOC_TUNED: '1' });
    assert.deepEqual(withGatewayMallocTuning({ GLIBC_TUNABLES: 'glibc.rtld.optional_static_tls=4096' }, 'linux'), {
      GLIBC_TUNABLES: `glibc.rtld.optional_static_tls=4096:${GATEWAY_MALLOC_TUNABLE}`,
      AIPLUGS_MALLOC_TUNED: '1',
    });
    assert.deepEqual(withGatewayMallocTuning({ PATH: '/bin' }, 'darwin'), { PATH: '/bin' });
    assert.deepEqual(withGatewayMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux'), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
    assert.deepEqual(withGatewayMallocTuning({ MALLOC_ARENA_MAX: '2' }, 'linux'), { MALLOC_ARENA_MAX: '2' });
  });

  it('is taken back out of what the gateway passes on, leaving exactly what the user set', () => {
    const users: Array<Record<string, string>> = [{}, { GLIBC_TUNABLES: 'glibc.rtld.optional_static_tls=4096' }, { GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLE }];
    for (const user of users) {
      const env: NodeJS.ProcessEnv = { PATH: '/bin', ...withGatewayMallocTuning({ PATH: '/bin', ...user }, 'linux') };
      forgetGatewayMallocTuning(env);
      assert.deepEqual(env, { PATH: '/bin', ...user }, JSON.stringify(user));
    }
  });

  it('names the variables the C library reads at start, and no others', () => {
    assert.deepEqual(['GLIBC_TUNABLES', 'MALLOC_ARENA_MAX', 'MALLOC_TOP_PAD_', 'MALLOC_SERVICE_URL', 'PATH'].map(isAllocatorVariable), [true, true, true, false, false]);
  });

  // A misspelt tunable is ignored without a word, so ask this machine's glibc what it would apply.
  it('is a setting this glibc applies: 32 MiB of top padding', { skip: !glibcLoader() && 'not on glibc' }, () => {
    const listed = execFileSync(glibcLoader()!, ['--list-tunables'], { env: { GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLE }, encoding: 'utf8' });
    assert.match(listed, /^glibc\.malloc\.top_pad: 0x2000000 /m);
  });
});
