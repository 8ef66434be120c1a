/**
 * A promise made on first call and shared by every later one, unless it fails: then the next
 * call makes a new one (a failed load or set-up is not kept as the answer).
 *
 * @example const library = memoizeUntilFailure(() => import('some-library')); await library();
 */
export function memoizeUntilFailure<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    pending ??= make().catch((error: unknown) => {
      pending = null;
      throw error;
    });
    return pending;
  };
}
