import { setTimeout as sleep } from 'node:timers/promises';
import ky, { HTTPError, TimeoutError } from 'ky';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../api/api-error.js';
import type { Logger } from '../events/logger.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import { retryVerdict } from './cloud-retry.js';
import { hideKeyInError } from './hide-key.js';
import type { CallLimits, InferenceBackend } from './inference-router.js';
import { createLineSplitter, StreamLimitError } from './line-splitter.js';
import { buildCloudCall, type CloudAnswer, type CloudCall } from './openai-compatible.js';
import { createSseParser, type ServerSentEvent } from './sse-parser.js';

/** `config.cloud`, read at every call so a changed setting applies without a restart. */
export interface CloudRelaySettings {
  base_url: string | null;
  api_key: string | null;
  model: string | null;
  timeout_ms: number;
  /** Retries after a failed connection or a 429/503; never after the request may have reached the server. */
  retries: number;
  /** The most bytes read from one answer, streamed or not. Default 64 MiB. */
  max_response_bytes?: number;
  /** The longest line, and the largest event, of a streamed answer, in characters. Default 1 Mi. */
  max_event_chars?: number;
  /** The most characters of a streamed answer the relay keeps (its text, or its chunks). Default 4 Mi. */
  max_answer_chars?: number;
  /** The longest a whole call may take, retries and the reading of the answer included. Default 10 min. */
  total_timeout_ms?: number;
}

export interface CloudRelayOptions {
  settings: () => CloudRelaySettings;
  logger?: Logger;
  /** Delay before retry n (1-based) when the server gave no Retry-After. Default 0.3 s × 2^(n-1). */
  retryDelayMs?: (attempt: number) => number;
  /** Longest Retry-After waited for; a server asking for longer gets no retry. Default 30 s. */
  maxRetryAfterMs?: number;
  /** For tests: the fetch ky uses. */
  fetch?: typeof fetch;
}

/** Per call: what the caller's budget allows, and who wants to know what the call cost. */
/**
 * Per-call limits (the router's `CallLimits`): `maxTokens` caps a chat call's output whatever the
 * payload asks (see `capOutputTokens`); `onUsage` is told the tokens the call cost when the server
 * reports them (chat and embeddings; streamed chat answers are asked to, with
 * `stream_options.include_usage`), never when it sends none or the call fails.
 */
export type CloudInferOptions = CallLimits;

/** The cloud backend: an `InferenceBackend` whose `infer` also takes per-call limits. */
export interface CloudRelay extends InferenceBackend {
  infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void, options?: CloudInferOptions): Promise<unknown>;
}

const DEFAULT_BOUNDS = { max_response_bytes: 64 * 1024 * 1024, max_event_chars: 1024 * 1024, max_answer_chars: 4 * 1024 * 1024 };

/**
 * `timeout_ms` only bounds silence, so a server that sends a byte now and then keeps a call (and
 * the caller's slot) open for ever. Ten minutes is far beyond a long streamed completion and still
 * ends a trickle.
 */
const DEFAULT_TOTAL_TIMEOUT_MS = 10 * 60 * 1000;

/** An error body is only read for its message: this much is plenty. */
const ERROR_BODY_BYTES = 16 * 1024;

function cancelled(): ApiError {
  return new ApiError(499 as ContentfulStatusCode, 'cancelled', 'The request was cancelled by the caller');
}

/** The call outlived `cloud.total_timeout_ms`, however steadily the server was sending. */
function overDeadline(where: string, totalMs: number): ApiError {
  const limit = totalMs >= 1000 ? `${Math.round(totalMs / 1000)} s` : `${totalMs} ms`;
  return new ApiError(504, 'cloud_timeout', `The cloud server (${where}) did not finish its answer within the total limit of ${limit} (cloud.total_timeout_ms)`);
}

function tooLarge(where: string, what: string): ApiError {
  return new ApiError(502, 'cloud_response_too_large', `The cloud server's answer (${where}) was stopped: ${what}`);
}

/** An error message from a server is shown to people: long ones are cut. */
function clip(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed || '(empty body)';
}

/** Finds the human part of an error body: OpenAI's `{error:{message}}`, FastAPI's `{detail}`, or the text. */
export function errorBodyMessage(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const error = json.error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return clip((error as { message: string }).message);
    for (const key of ['error', 'message', 'detail'] as const) {
      const value = json[key];
      if (typeof value === 'string') return clip(value);
    }
    if (json.detail !== undefined) return clip(JSON.stringify(json.detail));
  } catch {
    // not JSON: the text itself
  }
  return clip(text);
}

interface ReadOptions {
  /** No byte for this long is a timeout (ky's own timeout ends once the headers arrive). */
  idleMs: number;
  signal: AbortSignal;
  where: string;
  maxBytes: number;
  /** At `maxBytes`, stop reading quietly instead of failing (for error bodies, read only for a message). */
  truncate?: boolean;
  onText: (text: string) => void;
}

/**
 * Reads a body chunk by chunk, within `maxBytes` and an idle timeout. Whatever ends the read early
 * (a cap, `onText` throwing, a stall, the caller cancelling) cancels the body, which closes the
 * upstream connection: the server stops producing (and billing) an answer nobody reads.
 */
async function readBody(response: Response, options: ReadOptions): Promise<void> {
  const { idleMs, signal, where, maxBytes } = options;
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
      if (received > maxBytes) {
        if (!options.truncate) throw tooLarge(where, `more than ${maxBytes} bytes (cloud.max_response_bytes)`);
        options.onText(decoder.decode(value.subarray(0, value.byteLength - (received - maxBytes))));
        void reader.cancel().catch(() => undefined);
        return;
      }
      options.onText(decoder.decode(value, { stream: true }));
    }
    if (signal.aborted) throw cancelled();
    options.onText(decoder.decode());
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    if (signal.aborted) throw cancelled();
    if (error instanceof StreamLimitError) throw tooLarge(where, `${error.message} (cloud.max_event_chars)`);
    if (error instanceof ApiError) throw error;
    throw new ApiError(502, 'cloud_unreachable', `The cloud server (${where}) broke off its answer: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/** Where a redirect pointed, as an origin only: its path and query may carry anything. */
function redirectTarget(location: string | null, requestUrl: string): string | null {
  if (!location) return null;
  try {
    const origin = new URL(location, requestUrl).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/**
 * Redirects are not followed (the POST is sent with `redirect: 'manual'`): a 3xx is a bad answer.
 * A 307/308 would send the user's prompt again to a host the user never configured, and a
 * 301/302/303 turns the POST into a GET of any URL whose answer the caller reads (the gateway's
 * own API on 127.0.0.1 included; the error codes even told open loopback ports from closed ones).
 * Same-origin redirects are refused too: they still turn the call into a GET of another path of
 * that server (a remote gateway's own API), and OpenAI-compatible servers and AiPlugs gateways
 * answer their API where it is asked. A redirect there is a base URL to fix (http to https, a
 * moved host), so the message names the status and the target's origin, never its path.
 */
function redirectFailure(response: Response, requestUrl: string, where: string): ApiError {
  void response.body?.cancel().catch(() => undefined);
  const target = redirectTarget(response.headers.get('location'), requestUrl);
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new ApiError(502, 'cloud_bad_response', `The cloud server (${where}) answered ${status}${target ? ` to ${target}` : ''}; redirects are not followed (check cloud.base_url / CLOUD_BASE_URL)`);
}

async function httpFailure(error: HTTPError, read: Omit<ReadOptions, 'maxBytes' | 'onText'>, requestUrl: string): Promise<ApiError> {
  const { status, statusText } = error.response;
  if (isRedirect(status)) return redirectFailure(error.response, requestUrl, read.where);
  let text = '';
  await readBody(error.response, { ...read, maxBytes: ERROR_BODY_BYTES, truncate: true, onText: (piece) => (text += piece) }).catch(() => undefined);
  const message = `The cloud server (${read.where}) answered ${status}${statusText ? ` ${statusText}` : ''}: ${errorBodyMessage(text)}`;
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

function isEventStream(response: Response): boolean {
  return /^text\/event-stream\b/i.test(response.headers.get('content-type') ?? '');
}

function isLineStream(response: Response): boolean {
  return /^application\/(x-ndjson|jsonl|jsonlines)\b/i.test(response.headers.get('content-type') ?? '');
}

type Bounds = typeof DEFAULT_BOUNDS;

/** Relays a streamed answer (SSE or JSON lines) event by event, within `bounds`. */
async function relayStream(response: Response, call: CloudCall, bounds: Bounds, read: Omit<ReadOptions, 'onText'>, onChunk?: (chunk: unknown) => void): Promise<CloudAnswer> {
  const state = call.streamState();
  const relay = (event: ServerSentEvent) => {
    const chunk = state.onEvent(event);
    if (state.keptChars() > bounds.max_answer_chars) throw tooLarge(read.where, `more than ${bounds.max_answer_chars} characters of answer (cloud.max_answer_chars)`);
    if (chunk !== undefined) onChunk?.(chunk);
  };
  if (isEventStream(response)) {
    const parser = createSseParser({ maxEventChars: bounds.max_event_chars });
    await readBody(response, { ...read, onText: (text) => parser.push(text).forEach(relay) });
    parser.end().forEach(relay);
  } else {
    const lines = createLineSplitter(bounds.max_event_chars);
    const relayLine = (line: string | undefined) => {
      if (line?.trim()) relay({ event: 'message', data: line });
    };
    await readBody(response, { ...read, onText: (text) => lines.push(text).forEach(relayLine) });
    relayLine(lines.end());
  }
  return state.result();
}

/**
 * The cloud backend of the inference router: relays a plugin call to an external or cluster
 * inference server with ky — per-attempt timeout, readable error messages from the server's body,
 * and streaming (SSE or JSON lines) relayed chunk by chunk as it arrives. A call is paid for, so
 * a POST is sent again only when it provably never reached the server (the connection failed) or
 * the server turned it away with 429/503 (honouring `Retry-After`); never after a 500/502/504 or a
 * timeout, which may come after the work was done. Every retry is logged. What an answer may cost
 * in memory is bounded (`cloud.max_response_bytes`, `max_event_chars`, `max_answer_chars`); past a
 * bound the call ends with `cloud_response_too_large` and the upstream request is closed. A whole
 * call ends at `cloud.total_timeout_ms` (`cloud_timeout`), however steadily the server sends.
 * No redirect is followed (see `redirectFailure`), and the key is hidden in every error that leaves
 * the relay (`hideKeyInError`): servers echo request headers in their error pages and streams.
 * `base_url` and the API key come from config, where `CLOUD_BASE_URL` and `SYSTEM_API_KEY`
 * already take precedence (load-config.ts).
 *
 * @example
 *   const cloud = createCloudRelay({ settings: () => config.cloud, logger: logger.child('cloud') });
 *   const router = createInferenceRouter({ registry, local: workers, cloud });
 *   await cloud.infer(plugin, payload, signal, undefined, { maxTokens: 512, onUsage: (usage) => count(plugin.id, usage) });
 */
export function createCloudRelay(options: CloudRelayOptions): CloudRelay {
  const backoffMs = options.retryDelayMs ?? ((attempt: number) => 300 * 2 ** (attempt - 1));
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;

  /** One POST, sent again only when `retryVerdict` says it cannot have been received. */
  async function post(call: CloudCall, headers: Record<string, string>, settings: CloudRelaySettings, signal: AbortSignal, who: string): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // redirect: 'manual' — see redirectFailure for why none is followed.
        return await ky.post(call.url, { json: call.body, headers, signal, timeout: settings.timeout_ms, retry: 0, redirect: 'manual', ...(options.fetch ? { fetch: options.fetch } : {}) });
      } catch (error) {
        if (signal.aborted) throw cancelled();
        const verdict = retryVerdict(error, attempt, { retries: settings.retries, maxRetryAfterMs, backoffMs });
        if (!verdict.retry) {
          if (verdict.reason) options.logger?.warn(`${who} failed (${verdict.reason}); not retried`);
          throw error;
        }
        if (error instanceof HTTPError) await error.response.body?.cancel().catch(() => undefined);
        options.logger?.warn(`${who} failed (${verdict.reason}); retry ${attempt} of ${settings.retries} in ${verdict.delayMs} ms`);
        await sleep(verdict.delayMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw cancelled();
      }
    }
  }

  /** One call to the server, under `signal` (the caller's, joined with the call's deadline). */
  async function relayCall(settings: CloudRelaySettings, call: CloudCall, pluginId: string, signal: AbortSignal, onChunk: ((chunk: unknown) => void) | undefined, onUsage: CloudInferOptions['onUsage']): Promise<unknown> {
    const bounds: Bounds = {
      max_response_bytes: settings.max_response_bytes ?? DEFAULT_BOUNDS.max_response_bytes,
      max_event_chars: settings.max_event_chars ?? DEFAULT_BOUNDS.max_event_chars,
      max_answer_chars: settings.max_answer_chars ?? DEFAULT_BOUNDS.max_answer_chars,
    };
    const where = new URL(call.url).origin;
    const headers: Record<string, string> = { accept: call.stream ? 'text/event-stream, application/x-ndjson;q=0.9, application/json;q=0.8' : 'application/json' };
    if (settings.api_key) headers.authorization = `Bearer ${settings.api_key}`;
    const read = { idleMs: settings.timeout_ms, signal, where, maxBytes: bounds.max_response_bytes };
    let response: Response;
    try {
      response = await post(call, headers, settings, signal, `Cloud call for "${pluginId}" to ${where}`);
    } catch (error) {
      if (signal.aborted) throw cancelled();
      if (error instanceof HTTPError) throw await httpFailure(error, read, call.url);
      if (error instanceof TimeoutError) throw new ApiError(504, 'cloud_timeout', `The cloud server (${where}) did not answer within ${Math.round(settings.timeout_ms / 1000)} s`);
      if (error instanceof ApiError) throw error;
      throw networkFailure(error, where);
    }

    let answer: CloudAnswer;
    if (isEventStream(response) || isLineStream(response)) {
      answer = await relayStream(response, call, bounds, read, onChunk);
    } else {
      let text = '';
      await readBody(response, { ...read, onText: (piece) => (text += piece) });
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiError(502, 'cloud_bad_response', `The cloud server (${where}) answered with something that is not JSON: ${errorBodyMessage(text)}`);
      }
      answer = call.parseJson(json);
    }
    if (answer.usage) onUsage?.(answer.usage);
    return answer.result;
  }

  return {
    async infer(plugin: LoadedPlugin, payload: unknown, signal: AbortSignal, onChunk?: (chunk: unknown) => void, callOptions: CloudInferOptions = {}) {
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
        limits: { maxTokens: callOptions.maxTokens, streamUsage: callOptions.onUsage !== undefined },
      });
      // The whole call, retries and reading included, ends at the deadline: aborting `callSignal`
      // aborts the upstream request (ky) or cancels its body (readBody), as a caller's cancel does.
      const totalMs = settings.total_timeout_ms ?? DEFAULT_TOTAL_TIMEOUT_MS;
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), totalMs);
      const callSignal = AbortSignal.any([signal, deadline.signal]);
      try {
        return await relayCall(settings, call, plugin.id, callSignal, onChunk, callOptions.onUsage);
      } catch (error) {
        const final = deadline.signal.aborted && !signal.aborted ? overDeadline(new URL(call.url).origin, totalMs) : error;
        throw hideKeyInError(final, settings.api_key);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
