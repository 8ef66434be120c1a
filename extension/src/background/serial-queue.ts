/**
 * A queue that runs its tasks one after another, each once the one before has settled: for state
 * a task reads from storage and then writes back, which two tasks at once would interleave.
 */
export function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };
}
