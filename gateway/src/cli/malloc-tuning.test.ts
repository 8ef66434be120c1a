import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { forgetGatewayMallocTuning, GATEWAY_MALLOC_TUNABLES, withGatewayMallocTuning } from './malloc-tuning.js';

/** The dynamic loader this Node runs with, where the C library is glibc (it can list the tunables it would apply). */
function glibcLoader(): string | null {
  const report = process.report.getReport() as { header: { glibcVersionRuntime?: string }; sharedObjects: string[] };
  if (!report.header.glibcVersionRuntime) return null;
  return report.sharedObjects.find((path) => /\/ld-linux[^/]*\.so/.test(path)) ?? null;
}

describe('the allocator setting of the gateway process', () => {
  it('is added on Linux, only where the user chose no allocator settings of their own', () => {
    assert.deepEqual(withGatewayMallocTuning({ PATH: '/bin' }, 'linux'), { PATH: '/bin', GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLES });
    assert.deepEqual(withGatewayMallocTuning({ PATH: '/bin' }, 'darwin'), { PATH: '/bin' });
    assert.deepEqual(withGatewayMallocTuning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux'), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
    assert.deepEqual(withGatewayMallocTuning({ MALLOC_ARENA_MAX: '2' }, 'linux'), { MALLOC_ARENA_MAX: '2' });
  });

  it('is dropped from the environment the gateway passes on, unless it is the user’s own', () => {
    const ours: NodeJS.ProcessEnv = { PATH: '/bin', GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLES };
    forgetGatewayMallocTuning(ours);
    assert.deepEqual(ours, { PATH: '/bin' });
    const theirs: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' };
    forgetGatewayMallocTuning(theirs);
    assert.deepEqual(theirs, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
  });

  // A misspelt tunable is ignored without a word, so ask this machine's glibc what it would apply.
  it('is a setting this glibc applies: 32 MiB of top padding', { skip: process.platform !== 'linux' && 'glibc only' }, () => {
    const loader = glibcLoader();
    assert.ok(loader, 'a Linux CI machine runs Node on glibc');
    const listed = execFileSync(loader, ['--list-tunables'], { env: { GLIBC_TUNABLES: GATEWAY_MALLOC_TUNABLES }, encoding: 'utf8' });
    assert.match(listed, /^glibc\.malloc\.top_pad: 0x2000000 /m);
  });
});
