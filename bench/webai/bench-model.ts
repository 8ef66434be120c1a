import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../gateway/src/config/load-config.js';
import { resolveDataDir } from '../../gateway/src/data/data-dir.js';
import { modelFilenameOf } from '../../gateway/src/webai/builtin-plugins.js';
import { writeTinyGguf } from '../../gateway/src/webai/testing/tiny-gguf.js';
import { MissingPrerequisite } from '../missing-prerequisite.js';

/** The tiny model's own context: its vocabulary is mostly letters, so an article is ~1 token per character. */
const TINY_CONTEXT = 32_768;

export interface BenchModel {
  path: string;
  /** What the table calls it. */
  label: string;
  /** False for the tiny generated model: it exercises the code path, its numbers say nothing about quality or speed. */
  measuresQuality: boolean;
  /** The context the gateway gets unless AIPLUGS_WEBAI_CONTEXT_SIZE says otherwise. */
  contextSize: number;
  /** Removes what this module wrote (the tiny model's file). */
  dispose(): Promise<void>;
}

/**
 * The model the summarizer bench runs on, never downloaded:
 * - `BENCH_WEBAI_MODEL=tiny`: the tiny generated GGUF of the tests (random weights), to exercise the path;
 * - `BENCH_WEBAI_MODEL=/path/to/model.gguf`: that file;
 * - otherwise the default model (`webai.model_url`'s file name) if it is already in the data dir's
 *   `models/` (`AIPLUGS_DATA_DIR` or the platform default, as `aiplugs start` resolves it).
 * Anything else is a MissingPrerequisite that says how to provide the model.
 */
export async function resolveBenchModel(env: NodeJS.ProcessEnv = process.env, articleContext = 8192): Promise<BenchModel> {
  const chosen = env.BENCH_WEBAI_MODEL;
  if (chosen === 'tiny') {
    const folder = await mkdtemp(join(tmpdir(), 'aiplugs-bench-tiny-'));
    const path = join(folder, 'tiny.gguf');
    await writeTinyGguf(path, { seed: 7, contextLength: TINY_CONTEXT });
    return { path, label: 'tiny generated test model (random weights)', measuresQuality: false, contextSize: TINY_CONTEXT, dispose: () => rm(folder, { recursive: true, force: true }) };
  }
  const keep = async () => {};
  if (chosen) {
    if (!existsSync(chosen)) throw new MissingPrerequisite(`BENCH_WEBAI_MODEL=${chosen}: no such file.`);
    return { path: chosen, label: chosen.split('/').pop() ?? chosen, measuresQuality: true, contextSize: articleContext, dispose: keep };
  }
  const config = await loadConfig({ env });
  const filename = modelFilenameOf(config.webai.model_url);
  const path = join(resolveDataDir(undefined, env), 'models', filename);
  if (existsSync(path)) return { path, label: `${filename} (default model)`, measuresQuality: true, contextSize: articleContext, dispose: keep };
  throw new MissingPrerequisite(
    [
      `the default Web AI model is not on this machine (looked for ${path}), and a benchmark never downloads one.`,
      'Provide it: `AIPLUGS_WEBAI_ENABLED=true npx aiplugs models pull webai:llm` on a machine with internet (or a page\'s `Summarizer.create()`),',
      `or copy ${filename} (from ${config.webai.model_url}) into that folder, or point BENCH_WEBAI_MODEL at any GGUF file.`,
      'BENCH_WEBAI_MODEL=tiny runs the tiny generated test model instead: it exercises the code path and measures nothing about quality.',
    ].join(' '),
  );
}
