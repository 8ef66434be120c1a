/**
 * The name the LLM worker gives a model file llama.cpp could not load (not a GGUF, truncated, an
 * architecture it does not know): the gateway then says "unavailable" for that file until it
 * changes. Shared by the worker and the gateway; it imports nothing, so the gateway does not load
 * the worker's native library to read it.
 */
export const MODEL_LOAD_ERROR = 'ModelLoadError';

/** The worker's error for a model that did not load, named MODEL_LOAD_ERROR (the worker host reports the name as the type). */
export function modelLoadError(path: string, cause: unknown): Error {
  const error = new Error(`the model ${path} could not be loaded: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  error.name = MODEL_LOAD_ERROR;
  return error;
}
