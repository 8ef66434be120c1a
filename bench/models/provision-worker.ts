/**
 * One `ensure()` in a process of its own, so the benchmark measures the provisioner's own peak
 * RSS. Input: JSON in argv[2]. Output: one JSON line `{seconds, rssBeforeBytes, maxRssBytes}` on stdout.
 */
import { createModelProvisioner } from '../../gateway/src/models/model-provisioner.js';
import { manifestSchema } from '../../gateway/src/plugins/manifest-schema.js';

interface WorkerInput {
  modelsDir: string;
  url: string;
  sha256: string;
  filename: string;
}

const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput;
const manifest = manifestSchema.parse({
  manifest_version: 3,
  id: 'bench',
  name: 'bench',
  version: '1.0.0',
  inference: { default_mode: 'local', models: [{ key: 'MODEL', filename: input.filename, source_url: input.url, sha256: input.sha256 }] },
});
const provisioner = createModelProvisioner({ modelsDir: input.modelsDir });
// Node + the tsx loader + the gateway modules, before a single byte moves.
const rssBeforeBytes = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
await provisioner.ensure({ id: 'bench', dir: input.modelsDir, manifest });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ seconds, rssBeforeBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
