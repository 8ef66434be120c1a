import { stat } from 'node:fs/promises';
import { BackendRaisedError } from '../workers/worker-errors.js';
import { MODEL_LOAD_ERROR } from './backends/model-load-error.js';

/** A file as it is now (path, size, modification time), or null where there is no file. */
async function identity(path: string | null): Promise<string | null> {
  const stats = path ? await stat(path).catch(() => null) : null;
  return stats?.isFile() ? `${path}\0${stats.size}\0${stats.mtimeMs}` : null;
}

/**
 * Remembers the model file the LLM worker could not load, as it was then. A file that is there
 * says nothing about whether llama.cpp can read it: without this, availability stayed "available"
 * and every `create()` failed, for good. Until the file changes (replaced, downloaded again, a new
 * `webai.model_path`), its APIs are "unavailable"; then a `create()` tries it again.
 *
 * @example
 *   const model = createUnloadableModel(async () => config.webai.model_path);
 *   await workers.infer(llm, request).catch(model.noteFailure);
 *   await model.isUnloadable(); // → true after a ModelLoadError, until the file changes
 */
export function createUnloadableModel(modelPath: () => Promise<string | null>) {
  let failed: string | null = null;
  return {
    /** Passes `error` on, having noted the model file first where the error says it could not be loaded. */
    async noteFailure(error: unknown): Promise<never> {
      if (error instanceof BackendRaisedError && error.type === MODEL_LOAD_ERROR) failed = await identity(await modelPath());
      throw error;
    },
    /** Whether the model file is still the one that could not be loaded. */
    async isUnloadable(): Promise<boolean> {
      return failed !== null && failed === (await identity(await modelPath()));
    },
  };
}
