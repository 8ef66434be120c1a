/**
 * Thrown by a benchmark that cannot run on this machine (say, its model is not here and a bench
 * never downloads one): `bench/run.ts` records the message as the section's text, with no stack,
 * and the run still exits 1. The message says what is missing and how to provide it.
 */
export class MissingPrerequisite extends Error {
  override name = 'MissingPrerequisite';
}
