/**
 * Runs promise-returning work so that a synchronous throw (bad `this`, bad options) becomes a
 * rejected promise: the specs' methods report every error through the promise they return.
 */
export function rejecting<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}
