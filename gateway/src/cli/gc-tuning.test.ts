import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATEWAY_GC_FLAGS, gatewayGcFlags } from './gc-tuning.js';

describe('the garbage collector setting of the gateway process', () => {
  it('turns parallel scavenging off when the user chose nothing about it', () => {
    assert.deepEqual(gatewayGcFlags([]), GATEWAY_GC_FLAGS);
    assert.deepEqual(gatewayGcFlags(['--enable-source-maps', '--max-old-space-size=512', '--import', '/tmp/--single-threaded-gc.mjs']), GATEWAY_GC_FLAGS);
  });

  it('leaves the user’s own choice, in any spelling V8 takes', () => {
    for (const argument of ['--parallel-scavenge', '--no-parallel-scavenge', '--noparallel-scavenge', '--parallel_scavenge', '--single-threaded-gc', '--single_threaded_gc', '--single-threaded', '--predictable', '--parallel-scavenge=false']) {
      assert.deepEqual(gatewayGcFlags(['--enable-source-maps', argument]), [], argument);
    }
  });
});
