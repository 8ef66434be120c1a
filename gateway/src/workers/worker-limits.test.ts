import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuBreach, dataLimitMb, describeBreach, memoryBreach } from './worker-limits.js';

const MIB = 1024 * 1024;
const usage = (mb: number) => ({ rssBytes: mb * MIB, cpuMs: 0, processes: 1 });

describe('worker limits', () => {
  it('memory: over the cap is a breach, at the cap is not, 0 means no cap', () => {
    assert.equal(memoryBreach(usage(256), 256), null);
    assert.deepEqual(memoryBreach(usage(300.4), 256), { kind: 'memory', capMb: 256, usedMb: 301 });
    assert.deepEqual(memoryBreach(usage(256.01), 256), { kind: 'memory', capMb: 256, usedMb: 257 }, 'just over the cap never reads as the cap itself');
    assert.equal(memoryBreach(usage(1e6), 0), null);
  });

  it('CPU: over the budget is a breach, 0 means no budget', () => {
    assert.equal(cpuBreach(1000, 1000), null);
    assert.deepEqual(cpuBreach(1260, 1000), { kind: 'cpu', budgetSeconds: 1, usedSeconds: 1.3 });
    assert.equal(cpuBreach(1e9, 0), null);
  });

  it('says what was measured and which setting allowed what', () => {
    assert.equal(describeBreach({ kind: 'memory', capMb: 256, usedMb: 300 }), 'uses 300 MB of memory, over its 256 MB cap (workers.max_memory_mb)');
    assert.match(describeBreach({ kind: 'cpu', budgetSeconds: 1, usedSeconds: 1.3 }), /1\.3 s of CPU time .* 1 s budget \(workers\.request_cpu_seconds\)/);
  });

  it("Python's RLIMIT_DATA backstop sits well above the cap", () => {
    assert.equal(dataLimitMb(0), 0);
    assert.equal(dataLimitMb(256), 768);
    assert.equal(dataLimitMb(4096), 8192);
  });
});
