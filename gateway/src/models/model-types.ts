import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import type { ModelProgress } from './progress-meter.js';

/*
 * Types the provisioner and its inventory share; kept here so neither imports the other's types.
 */

/**
 * The part of a loaded plugin the provisioner reads: its id (for messages and events), its folder
 * (for relative `file:` sources), its manifest, and the other plugins that declare the same file
 * names (`modelPeers`, from the registry; absent for plugins built in code). Any `LoadedPlugin` fits.
 */
export type PluginWithModels = Pick<LoadedPlugin, 'id' | 'dir' | 'manifest'> & Partial<Pick<LoadedPlugin, 'modelPeers'>>;

export interface EnsureOptions {
  /** Cancels this caller's wait; a shared download stops only when every caller has cancelled. */
  signal?: AbortSignal;
  /** This caller's view of the progress of each of the plugin's files. */
  onProgress?: (progress: ModelProgress) => void;
  /** Leave progress out of the log (the CLI draws bars instead); warnings and errors still go there. */
  quiet?: boolean;
}
