import ky, { HTTPError, TimeoutError } from 'ky';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../api/api-error.js';
import type { Logger } from '../events/logger.js';
import { redact } from '../events/logger.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import type { InferenceBackend } from './inference-router.js';
import { buildCloudCall, type CloudCall } from './openai-compatible.js';
import { createSseParser } from './sse-parser.js';

/** `config.cloud`, read at every call so a changed setting applies without a restart. */
export interface CloudRelaySettings {
  base_url: string | null;
  api_key: string | null;
  model: string | null;
  timeout_ms: number;
  retries: number;
}

export interface CloudRelayOptions {
  settings: () => CloudRelaySettings;
  logger?: Logger;
  /** Delay before retry n (1-based) when the server gave no Retry-After. Default 0.3 s × 2^(n-1). */
  retryDelayMs?: (attempt: number) => number;
  /** Longest Retry-After honoured; a longer one is clamped to this. Default 30 s. */
  maxRetryAfterMs?: number;
  /** Largest answer read into memory (streams are not limited). Default 64 MiB. */
  maxResponseBytes?: number;
  /** For tests: the fetch ky uses. */
  fetch?: typeof fetch;
}

/** Statuses worth another attempt: the server said "not now", not "no". */
const RETRY_STATUS = [408, 425, 429, 500, 502, 503, 504];
const RETRY_AFTER_STATUS = [413, 429, 503];

function cancelled(): ApiError {
  return new ApiError(499 as ContentfulStatusCode, 'cancelled', 'The request was cancelled by the caller');
}

/** Finds the human part of an error body: OpenAI's `{error:{message}}`, FastAPI's `{detail}`, or the text. */
export function errorBodyMessage(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const error = json.error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
    for (const key of ['error', 'message', 'detail'] as const) {
      const value = json[key];
      if (typeof value === 'string') return value;
    }
    if (json.detail !== undefined) return JSON.stringify(json.detail);
  } catch {
    // not JSON: the text itself
  }
  const trimmed = text.trim().replace(/\s+/g, ' ');
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed || '(empty body)';
}

async function httpFailure(error: HTTPError, where: string): Promise<ApiError> {
  const { status, statusText } = error.response;
  const text = await error.response.text().catch(() => '');
  const message = `The cloud server (${where}) answered ${status}${statusText ? ` ${statusText}` : ''}: ${errorBodyMessage(text)}`;
  if (status === 429) return new ApiError(429, 'cloud_rate_limited', message);
  if (status === 401 || status === 403) return new ApiError(502, 'cloud_unauthorized', `${message} (check cloud.api_key / SYSTEM_API_KEY)`);
  if (status === 404) return new ApiError(502, 'cloud_not_found', `${message} (check cloud.base_url / CLOUD_BASE_URL and the model name)`);
  if (status >= 500) return new ApiError(502, 'cloud_error', message);
  return new ApiError(502, 'cloud_rejected', message);
}

function networkFailure(error: unknown, where: string): ApiError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new ApiError(502, 'cloud_unreachable', `Cannot reach the cloud server (${where}): ${detail}`);
}

/**
 * Reads a body chunk by chunk; a server that goes quiet for `idleMs` is a timeout (ky's own
 * timeout ends once the headers arrive, and a stream can stall after that).
 */
async function readBody(response: Response, idleMs: number, signal: AbortSignal, onText: (text: string) => void, maxBytes: number | null, where: string): Promise<void> {
  const body = response.body;
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let received = 0;
  let timer: NodeJS.Timeout | undefined;
  let stalled: (error: Error) => void = () => undefined;
  const idle = new Promise<never>((_, reject) => {
    stalled = reject;
  });
  idle.catch(() => undefined);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stalled(new ApiError(504, 'cloud_timeout', `The cloud server (${where}) sent nothing for ${Math.round(idleMs / 1000)} s`)), idleMs);
  };
  rearm();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), idle]);
      if (done) break;
      if (signal.aborted) break;
      rearm();
      received += value.byteLength;
      if (maxBytes !== null && received > maxBytes) throw new ApiError(502, 'cloud_bad_response', `The cloud server's answer exceeds ${maxBytes} bytes`);
      onText(decoder.decode(value, { stream: true }));
    }
    if (signal.aborted) throw cancelled();
    onText(decoder.decode());
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    if (signal.aborted) throw cancelled();
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

function isEventStream(response: Response): boolean {
  return /^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '');
}

function isLineStream(response: Response): boolean {
  return /^application\/(x-ndjson|jsonl|jsonlines)\b/i.test(response.headers.get('content-type') ?? '');
}

/**
 * The cloud backend of the inference router: relays a plugin call to an external or cluster
 * inference server with ky — per-attempt timeout, retries on 408/429/5xx and network errors
 * honouring `Retry-After`, readable error messages from the server's body, and streaming (SSE or
 * JSON lines) relayed chunk by chunk as it arrives. `base_url` and the API key come from config,
 * where `CLOUD_BASE_URL` and `SYSTEM_API_KEY` already take precedence (load-config.ts).
 *
 * @example
 *   const cloud = createCloudRelay({ settings: () => config.cloud, logger: logger.child('cloud') });
 *   const router = createInferenceRouter({ registry, local: workers, cloud });
 */
export function createCloudRelay(options: CloudRelayOptions): InferenceBackend {
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  return {
    async infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void) {
      const settings = options.settings();
      if (!settings.base_url) {
        throw new ApiError(501, 'cloud_not_configured', 'Cloud inference is not configured: set cloud.base_url in config.json or CLOUD_BASE_URL (and the key in SYSTEM_API_KEY)');
      }
      const call: CloudCall = buildCloudCall({
        baseUrl: settings.base_url,
        pluginId: plugin.id,
        cloud: plugin.manifest.inference?.cloud,
        defaultModel: settings.model,
        payload,
        stream: onChunk !== undefined,
      });
      const where = new URL(call.url).origin;
      const headers: Record<string, string> = { accept: call.stream ? 'text/event-stream, application/x-ndjson;q=0.9, application/json;q=0.8' : 'application/json' };
      if (settings.api_key) headers.authorization = `Bearer ${settings.api_key}`;
      const hide = (text: string) => redact(text, [settings.api_key]);
      let response: Response;
      try {
        response = await ky.post(call.url, {
          json: call.body,
          headers,
          signal,
          timeout: settings.timeout_ms,
          retry: {
            limit: settings.retries,
            methods: ['post'],
            statusCodes: RETRY_STATUS,
            afterStatusCodes: RETRY_AFTER_STATUS,
            maxRetryAfter: options.maxRetryAfterMs ?? 30_000,
            retryOnTimeout: true,
            ...(options.retryDelayMs ? { delay: options.retryDelayMs } : {}),
          },
          hooks: {
            beforeRetry: [
              ({ error, retryCount }) => {
                const reason = error instanceof HTTPError ? `HTTP ${error.response.status}` : error instanceof TimeoutError ? 'timeout' : ((error as { cause?: { code?: string } }).cause?.code ?? error.message);
                options.logger?.warn(`Cloud call for "${plugin.id}" to ${where} failed (${reason}); retry ${retryCount} of ${settings.retries}`);
              },
            ],
          },
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
      } catch (error) {
        if (signal.aborted) throw cancelled();
        if (error instanceof HTTPError) {
          const failure = await httpFailure(error, where);
          throw new ApiError(failure.status, failure.code, hide(failure.message));
        }
        if (error instanceof TimeoutError) throw new ApiError(504, 'cloud_timeout', `The cloud server (${where}) did not answer within ${Math.round(settings.timeout_ms / 1000)} s`);
        if (error instanceof ApiError) throw error;
        throw networkFailure(error, where);
      }

      if (isEventStream(response) || isLineStream(response)) {
        const state = call.streamState();
        const relay = (event: { event: string; data: string }) => {
          const chunk = state.onEvent(event);
          if (chunk !== undefined) onChunk?.(chunk);
        };
        if (isEventStream(response)) {
          const parser = createSseParser();
          await readBody(response, settings.timeout_ms, signal, (text) => parser.push(text).forEach(relay), null, where);
          parser.end().forEach(relay);
        } else {
          let pending = '';
          await readBody(response, settings.timeout_ms, signal, (text) => {
            pending += text;
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) if (line.trim()) relay({ event: 'message', data: line });
          }, null, where);
          if (pending.trim()) relay({ event: 'message', data: pending });
        }
        return state.result();
      }

      let text = '';
      await readBody(response, settings.timeout_ms, signal, (piece) => {
        text += piece;
      }, maxResponseBytes, where);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiError(502, 'cloud_bad_response', `The cloud server (${where}) answered with something that is not JSON: ${errorBodyMessage(text)}`);
      }
      return call.parseJson(json);
    },
  };
}
