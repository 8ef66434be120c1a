import type { Logger } from '../../gateway/src/events/logger.js';

/** A logger that drops everything, for tests that do not look at the log. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
