/**
 * Awaits `next`, the next part of a test stack to start; if it fails, closes what already started
 * (`started`) before passing the error on, so a failed start leaves nothing running for the rest
 * of the worker's files.
 */
export async function orClose<T>(next: Promise<T>, started: { close(): Promise<unknown> }): Promise<T> {
  try {
    return await next;
  } catch (error) {
    await started.close();
    throw error;
  }
}
