import { refuseLossyValues } from './lossless-json.js';
import { onceActivated, type PageWorld } from './page-world.js';

/** The gateway's error answer, `{error: {code, message}}`, or anything else a failed call gave. */
interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** The error `infer()` rejects with: the gateway's code, its HTTP status (0 without one), a generic message. */
export function aiPlugsError(body: unknown, status: number): AiPlugsError {
  const error: NonNullable<ErrorBody['error']> = (body && typeof body === 'object' && (body as ErrorBody).error) || {};
  const failure = new Error(error.message || `AiPlugs request failed with HTTP ${status}`);
  // Defined, not assigned: on a page that froze Error.prototype, assigning `name` throws (helper-78).
  const own = (value: unknown) => ({ value, writable: true, configurable: true });
  return Object.defineProperties(failure, { name: own('AiPlugsError'), code: own(error.code || `http_${status}`), status: own(status) }) as AiPlugsError;
}

/** What `infer()` sends: the payload, and the mode the page expects. */
export interface InferBody {
  payload: unknown;
  mode?: AiPlugsMode;
}

/** A request the page runtime sends to the extension's background (extension transport). */
export type ExtensionRequest =
  | { kind: 'infer'; pluginId: string; body: InferBody }
  | { kind: 'run'; pluginId: string; file: string }
  | { kind: 'model-status'; pluginId: string };

interface ExtensionResponse {
  id: string;
  ok: boolean;
  result?: unknown;
  error?: unknown;
  status?: number;
}

/** How calls reach the gateway: the proxy's same-origin bridge, or the companion extension. */
export interface Transport {
  infer(pluginId: string, body: InferBody, signal: AbortSignal | undefined): Promise<unknown>;
  /** The plugin's model download progress (`GET /api/plugins/<id>/models/status`). */
  modelStatus(pluginId: string, signal: AbortSignal | undefined): Promise<unknown>;
  /** A request to the extension's background (extension transport only: nothing answers on other pages). */
  callExtension(request: ExtensionRequest, signal?: AbortSignal): Promise<unknown>;
}

/** A call to the plugin's API route through the same-origin bridge; resolves to the JSON answer. */
function bridgeCall(world: PageWorld, pluginId: string, route: string, init: RequestInit): Promise<unknown> {
  return world
    .fetch(`${world.bridge}/api/plugins/${encodeURIComponent(pluginId)}/${route}`, {
      ...init,
      credentials: 'omit', // the site's cookies are none of the gateway's business
    })
    .then((response) =>
      world
        .readJson(response)
        .then((json: unknown) => {
          if (!response.ok) throw aiPlugsError(json, response.status);
          return json;
        }),
    );
}

function bridgeInfer(world: PageWorld, pluginId: string, body: InferBody, signal: AbortSignal | undefined): Promise<unknown> {
  return bridgeCall(world, pluginId, 'infer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: world.toJson(body, refuseLossyValues), signal }).then(
    (json) => (json as { result: unknown }).result,
  );
}

/**
 * Extension transport: page → ISOLATED content script (DOM event) → background → gateway. The
 * background holds the API token and only calls plugins active for this tab's URL.
 */
function extensionChannel(world: PageWorld): Transport['callExtension'] {
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (reason: unknown) => void }>();
  let sequence = 0;
  const channel = String(Math.random()).slice(2);
  if (world.transport === 'extension') {
    world.listen('aiplugs:extension-response', (event) => {
      let message: ExtensionResponse;
      try {
        message = world.fromJson(String((event as CustomEvent<unknown>).detail)) as ExtensionResponse;
      } catch {
        return;
      }
      const waiter = message && pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(aiPlugsError({ error: message.error }, message.status || 0));
    });
  }
  return (request, signal) =>
    new Promise((resolve, reject) => {
      sequence += 1;
      const id = `${channel}:${sequence}`;
      pending.set(id, { resolve, reject });
      if (signal) {
        if (signal.aborted) {
          pending.delete(id);
          reject(signal.reason);
          return;
        }
        signal.addEventListener('abort', () => {
          if (pending.delete(id)) reject(signal.reason);
        });
      }
      world.emit('aiplugs:extension-request', world.toJson({ ...request, id, url: world.w.location.href }, refuseLossyValues));
    });
}

export function createTransport(world: PageWorld): Transport {
  const callExtension = extensionChannel(world);
  return {
    infer: (pluginId, body, signal) =>
      onceActivated(world, signal, () => (world.transport === 'extension' ? callExtension({ kind: 'infer', pluginId, body }, signal) : bridgeInfer(world, pluginId, body, signal))),
    modelStatus: (pluginId, signal) =>
      onceActivated(world, signal, () =>
        world.transport === 'extension' ? callExtension({ kind: 'model-status', pluginId }, signal) : bridgeCall(world, pluginId, 'models/status', { method: 'GET', signal }),
      ),
    callExtension,
  };
}
