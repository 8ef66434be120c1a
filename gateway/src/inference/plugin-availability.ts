import { allowsFallback, type FallbackPolicy, type InferenceMode } from './inference-router.js';

export interface AvailabilityFacts {
  cloudConfigured: boolean;
  /** The user's mode for the plugin, if they chose one (it beats the manifest's `default_mode`). */
  userMode: InferenceMode | undefined;
  fallback: FallbackPolicy;
}

/**
 * Whether a page call to the plugin can be served as the gateway is configured: false only when
 * the plugin runs in the cloud, no cloud server is set up, and no fallback to a local backend
 * can take over. Pages learn this (a yes or no, never the cloud's address or key) so a plugin
 * can hide UI that could only fail.
 */
export function servableFromPage(manifest: { inference?: { default_mode: InferenceMode; local_entry?: string | undefined } | undefined }, facts: AvailabilityFacts): boolean {
  const inference = manifest.inference;
  if (!inference) return true; // no backend: nothing for the gateway to serve
  const mode = facts.userMode ?? inference.default_mode;
  if (mode !== 'cloud' || facts.cloudConfigured) return true;
  // A mode the user chose is never fallen back from (inference-router.ts, fallbackPermitted).
  return facts.userMode === undefined && Boolean(inference.local_entry) && allowsFallback(facts.fallback, 'cloud');
}
