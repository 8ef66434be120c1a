import { createMonitor } from './create-monitor.js';
import type { WebAiChannel, WebAiRoute } from './webai-channel.js';
import type { WebAiEnv } from './webai-env.js';

/** What the gateway tells a page once its model is ready. */
export interface ReadyInfo {
  inputQuota: number;
  /** What the options already take of the quota (a LanguageModel's `initialPrompts`). */
  inputUsage: number;
}

/**
 * The specs' create() algorithm against the gateway, shared by every API: the monitor is handed
 * out first; "unavailable" is a NotSupportedError; a download ("downloadable" or "downloading")
 * needs transient user activation (NotAllowedError without), as the specs require; then the
 * gateway makes the model ready while `downloadprogress` events report it. `signal` aborts at any
 * stage with its reason (the gateway stops the download when the request goes away).
 */
export async function createOnGateway(env: WebAiEnv, channel: WebAiChannel, api: WebAiRoute, options: Record<string, unknown>, create: WebAiCreateOptions): Promise<ReadyInfo> {
  // Activation is transient: read it now, not after the first round trip.
  const active = env.userActive();
  const signal = create.signal || new env.AbortController().signal;
  if (signal.aborted) throw signal.reason;
  const { monitor, progress } = createMonitor(env);
  if (create.monitor !== undefined) {
    if (typeof create.monitor !== 'function') throw new TypeError('monitor must be a function');
    create.monitor(monitor);
  }
  const { availability } = (await channel.json(api, 'availability', { options }, signal)) as { availability: Availability };
  if (availability === 'unavailable') throw new env.DOMException('This AI capability is not available with these options', 'NotSupportedError');
  if (availability !== 'available' && !active) {
    throw new env.DOMException('Downloading the AI model requires a user gesture (transient user activation)', 'NotAllowedError');
  }
  let ready: ReadyInfo | null = null;
  await channel.events(api, 'create', { options }, signal, (event) => {
    const data = event.data as { loaded?: unknown; inputQuota?: unknown; inputUsage?: unknown };
    if (event.event === 'progress' && typeof data.loaded === 'number') progress(Math.min(1, Math.max(0, data.loaded)));
    else if (event.event === 'ready') ready = { inputQuota: typeof data.inputQuota === 'number' ? data.inputQuota : Infinity, inputUsage: typeof data.inputUsage === 'number' ? data.inputUsage : 0 };
  });
  if (signal.aborted) throw signal.reason;
  if (!ready) throw new env.DOMException('The gateway ended create() without an answer', 'NetworkError');
  return ready;
}
