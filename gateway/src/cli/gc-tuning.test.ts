import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GATEWAY_GC_FLAGS, gatewayGcFlags } from './gc-tuning.js';

describe('the garbage collector setting of the gateway process', () => {
  it('turns parallel scavenging off when the user chose nothing about it', () => {
    assert.deepEqual(gatewayGcFlags([], undefined), GATEWAY_GC_FLAGS);
    assert.deepEqual(gatewayGcFlags(['--enable-source-maps'], '--max-old-space-size=512'), GATEWAY_GC_FLAGS);
  });

  it('leaves the user’s own choice, given on the command line or in NODE_OPTIONS, in either spelling', () => {
    for (const [execArgv, nodeOptions] of [
      [['--parallel-scavenge'], undefined],
      [['--no-parallel-scavenge'], undefined],
      [[], '--single-threaded-gc'],
      [[], '--max-old-space-size=512 --parallel_scavenge'],
      [['--single_threaded_gc'], ''],
    ] as const) assert.deepEqual(gatewayGcFlags(execArgv, nodeOptions), [], `${execArgv.join(' ')} | ${nodeOptions}`);
  });
});
