// The gateway's own parser: one set of text/event-stream rules for both ends (as the extension does).
import { createSseParser } from '../../../inference/sse-parser.js';
import { onceActivated } from '../page-world.js';
import type { WebAiEnv } from './webai-env.js';
import { webAiException } from './webai-errors.js';

/** The gateway's route names of the APIs (`/api/webai/<api>/...`). */
/** One event of a Web AI answer: its name and its JSON data. */
export interface ServerEvent {
  event: string;
  data: unknown;
}

/** The Web AI routes' events are small (progress, chunks, one result): longer ones are refused. */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

export type WebAiRoute = 'language-model' | 'summarizer' | 'writer' | 'rewriter' | 'proofreader' | 'translator' | 'language-detector';

/**
 * How the Web AI globals reach the gateway: POSTs under this document's bridge capability (the
 * same origin as the page: no CORS, no local-network prompt), answered as JSON or as
 * server-sent events. An aborted `signal` rejects with its reason, as the specs want.
 */
export interface WebAiChannel {
  json(api: WebAiRoute, verb: string, body: unknown, signal: AbortSignal): Promise<unknown>;
  /** Calls `onEvent` for each event until the stream ends; an `error` event rejects. */
  events(api: WebAiRoute, verb: string, body: unknown, signal: AbortSignal, onEvent: (event: ServerEvent) => void): Promise<void>;
}

export function createWebAiChannel(env: WebAiEnv): WebAiChannel {
  const { world } = env;
  /**
   * fetch's TypeError when the gateway cannot be reached (stopped, restarting) or a stream breaks
   * off: the specs' UnknownError, since a page takes a TypeError for its own mistake.
   */
  const unreachable = (signal: AbortSignal) => (error: unknown) => {
    throw signal.aborted ? error : new env.DOMException(`AiPlugs could not be reached (${(error as Error)?.message ?? String(error)})`, 'UnknownError');
  };
  const post = (api: WebAiRoute, verb: string, body: unknown, signal: AbortSignal, accept: string) =>
    onceActivated(world, signal, () =>
      world
        .fetch(`${world.bridge}/api/webai/${api}/${verb}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept },
          body: world.toJson(body),
          signal,
          credentials: 'omit', // the site's cookies are none of the gateway's business
        })
        .catch(unreachable(signal)),
    );
  const failure = async (response: Response) => webAiException(env, await world.readJson(response), response.status);
  /** The signal's reason when the call was aborted (whatever fetch rejected with), else the error. */
  const settle = (signal: AbortSignal) => (error: unknown) => {
    throw signal.aborted ? signal.reason : error;
  };

  return {
    json: (api, verb, body, signal) =>
      post(api, verb, body, signal, 'application/json')
        .then(async (response) => {
          if (!response.ok) throw await failure(response);
          return world.readJson(response);
        })
        .catch(settle(signal)),

    events: (api, verb, body, signal, onEvent) =>
      post(api, verb, body, signal, 'text/event-stream')
        .then(async (response) => {
          if (!response.ok) throw await failure(response);
          if (!response.body) throw new env.DOMException('The gateway sent no event stream', 'NetworkError');
          const reader = response.body.getReader();
          const decoder = new env.TextDecoder();
          const parser = createSseParser({ maxEventChars: MAX_EVENT_CHARS });
          for (;;) {
            const { done, value } = await reader.read().catch(unreachable(signal));
            const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
            for (const raw of [...parser.push(text), ...(done ? parser.end() : [])]) {
              const event: ServerEvent = { event: raw.event, data: world.fromJson(raw.data) };
              if (event.event === 'error') throw webAiException(env, event.data, response.status);
              onEvent(event);
            }
            if (done) return;
          }
        })
        .catch(settle(signal)),
  };
}
