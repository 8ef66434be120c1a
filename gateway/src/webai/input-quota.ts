/**
 * The input quota (`inputQuota`) for a context of `contextSize` tokens: what is left once room is
 * kept for an answer of `maxOutputTokens` (at most half the context). Shared by the LLM worker,
 * which knows its real context, and the cloud path, which takes `webai.context_size` at its word.
 */
export function inputQuotaOf(contextSize: number, maxOutputTokens: number): number {
  return Math.max(1, contextSize - Math.min(maxOutputTokens, Math.floor(contextSize / 2)));
}
