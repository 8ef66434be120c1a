import { buildGateway } from '../../gateway/build/build.js';

/**
 * The e2e suites drive the compiled gateway (gateway/bin/aiplugs.js runs gateway/dist): rebuild it
 * first when the sources changed since the last build, so a stale build is never what gets tested.
 */
export default async function globalSetup(): Promise<void> {
  if (await buildGateway()) console.log('Rebuilt gateway/dist: it was older than the sources.');
}
