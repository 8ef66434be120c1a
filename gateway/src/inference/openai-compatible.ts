import { z } from 'zod';
import { ApiError } from '../api/api-error.js';
import type { PluginManifest } from '../plugins/manifest-schema.js';
import type { ServerSentEvent } from './sse-parser.js';

/**
 * How a plugin payload becomes a request to a cloud/cluster server and how the answer becomes the
 * plugin's result. Three endpoints (the manifest's `inference.cloud.endpoint`):
 * - `chat`: OpenAI-compatible `POST {base}/v1/chat/completions` (vLLM, Ollama, LocalAI, Ray Serve…);
 * - `embeddings`: OpenAI-compatible `POST {base}/v1/embeddings`;
 * - `raw`: the AiPlugs contract itself, `POST {base}/api/plugins/{id}/infer` with `{payload}`, so a
 *   remote AiPlugs gateway (or anything speaking its contract) serves the plugin unchanged.
 * Pure functions: the relay does the HTTP, this module only maps shapes.
 */

export type CloudSettings = NonNullable<NonNullable<PluginManifest['inference']>['cloud']>;

/** Sampling parameters a payload may set; everything else (model, stream, n) is the gateway's call. */
const CHAT_PARAMETERS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'response_format',
  'tools',
  'tool_choice',
  'logit_bias',
  'user',
] as const;

const messageSchema = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]),
});
type ChatMessage = z.infer<typeof messageSchema>;

const chatObjectSchema = z.looseObject({
  messages: z.array(messageSchema).min(1).optional(),
  prompt: z.string().optional(),
  text: z.string().optional(),
  input: z.string().optional(),
});

const chatCompletionSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({ role: z.string().optional(), content: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z.unknown().optional(),
});

const chatChunkSchema = z.looseObject({
  model: z.string().optional(),
  choices: z
    .array(
      z.looseObject({
        delta: z.looseObject({ content: z.string().nullable().optional() }).optional(),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .default([]),
  usage: z.unknown().optional(),
});

const embeddingsPayloadSchema = z.union([z.string(), z.array(z.string()).min(1), z.looseObject({ input: z.union([z.string(), z.array(z.string()).min(1)]) })]);

const embeddingsResponseSchema = z.looseObject({
  model: z.string().optional(),
  data: z.array(z.looseObject({ embedding: z.union([z.array(z.number()), z.string()]), index: z.number().int().optional() })),
  usage: z.unknown().optional(),
});

const usageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative().optional(),
  completion_tokens: z.number().int().nonnegative().optional(),
  total_tokens: z.number().int().nonnegative().optional(),
});

/** Tokens one call cost, as the server counted them (OpenAI's `usage`). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** Reads OpenAI's `usage` object; null when the server sent none (or nothing readable). */
export function readTokenUsage(raw: unknown): TokenUsage | null {
  const parsed = usageSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { prompt_tokens: input, completion_tokens: output, total_tokens: total } = parsed.data;
  if (input === undefined && output === undefined && total === undefined) return null;
  return { inputTokens: input ?? 0, outputTokens: output ?? 0, totalTokens: total ?? (input ?? 0) + (output ?? 0) };
}

/** A finished answer: the plugin's result, and what it cost when the server said so. */
export interface CloudAnswer {
  result: unknown;
  usage: TokenUsage | null;
}

/** A streamed answer in progress: turns events into chunks to relay and, at the end, the answer. */
export interface StreamState {
  /** The chunk to relay for this event, or undefined to relay nothing. Throws on an error event. */
  onEvent(event: ServerSentEvent): unknown;
  /** Characters of answer kept so far (text, chunks), for the relay's cap on what it holds. */
  keptChars(): number;
  result(): CloudAnswer;
}

/** One cloud call, fully decided before any byte is sent. */
export interface CloudCall {
  url: string;
  body: unknown;
  /** Ask the server to stream (chat and raw only; embeddings never stream). */
  stream: boolean;
  parseJson(json: unknown): CloudAnswer;
  streamState(): StreamState;
}

/** `base` + `/v1/…`, unless `base` already ends in `/v1` (both spellings are common in configs). */
export function openAiUrl(base: string, path: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? `${trimmed}${path}` : `${trimmed}/v1${path}`;
}

function badPayload(message: string): ApiError {
  return new ApiError(400, 'invalid_payload', message);
}

function badResponse(what: string, json: unknown): ApiError {
  const excerpt = JSON.stringify(json)?.slice(0, 300) ?? String(json);
  return new ApiError(502, 'cloud_bad_response', `The cloud server's ${what} is not what an OpenAI-compatible server sends: ${excerpt}`);
}

/**
 * Turns a plugin payload into chat messages: a string is the user's message; `{messages}` is used
 * as is; `{prompt|text|input}` is the user's message; any other value is sent as its JSON text.
 * The manifest's `system_prompt` goes first unless the messages already start with a system one.
 */
export function chatMessages(payload: unknown, systemPrompt: string | undefined): { messages: ChatMessage[]; parameters: Record<string, unknown> } {
  let messages: ChatMessage[];
  const parameters: Record<string, unknown> = {};
  if (typeof payload === 'string') {
    messages = [{ role: 'user', content: payload }];
  } else {
    const parsed = chatObjectSchema.safeParse(payload);
    if (!parsed.success) {
      if (payload !== null && typeof payload === 'object' && 'messages' in payload) {
        throw badPayload(`payload.messages: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      messages = [{ role: 'user', content: JSON.stringify(payload ?? null) }];
    } else {
      const value = parsed.data;
      const text = value.prompt ?? value.text ?? value.input;
      messages = value.messages ?? [{ role: 'user', content: text ?? JSON.stringify(payload) }];
      for (const name of CHAT_PARAMETERS) if (value[name] !== undefined) parameters[name] = value[name];
    }
  }
  if (systemPrompt && messages[0]?.role !== 'system') messages = [{ role: 'system', content: systemPrompt }, ...messages];
  return { messages, parameters };
}

const OUTPUT_TOKEN_PARAMETERS = ['max_tokens', 'max_completion_tokens'] as const;

/**
 * Holds a chat call to `maxTokens` output tokens whatever the payload asks: each output-token
 * parameter the payload set is lowered to the cap (or replaced when it is not a positive number);
 * with neither set, `max_tokens` is (the older name, which every OpenAI-compatible server reads).
 * A payload that uses `max_completion_tokens` alone keeps it alone: newer OpenAI models refuse
 * `max_tokens`.
 */
export function capOutputTokens(parameters: Record<string, unknown>, maxTokens: number): Record<string, unknown> {
  const capped = { ...parameters };
  const present = OUTPUT_TOKEN_PARAMETERS.filter((name) => capped[name] !== undefined);
  for (const name of present) {
    const value = capped[name];
    capped[name] = typeof value === 'number' && Number.isInteger(value) && value > 0 ? Math.min(value, maxTokens) : maxTokens;
  }
  if (present.length === 0) capped.max_tokens = maxTokens;
  return capped;
}

function chatCall(base: string, model: string | null, cloud: CloudSettings, payload: unknown, stream: boolean, limits: CloudCallLimits): CloudCall {
  const { messages, parameters } = chatMessages(payload, cloud.system_prompt);
  const sampling = limits.maxTokens !== undefined ? capOutputTokens(parameters, limits.maxTokens) : parameters;
  // Streamed answers carry usage only when asked (a last chunk with empty choices).
  const streamOptions = stream && limits.streamUsage ? { stream_options: { include_usage: true } } : {};
  return {
    url: openAiUrl(base, '/chat/completions'),
    body: { ...(model ? { model } : {}), messages, ...sampling, stream, ...streamOptions },
    stream,
    parseJson(json) {
      const parsed = chatCompletionSchema.safeParse(json);
      if (!parsed.success) throw badResponse('chat completion', json);
      const choice = parsed.data.choices[0]!;
      const usage = parsed.data.usage ?? null;
      return {
        result: { text: choice.message.content ?? '', message: choice.message, finish_reason: choice.finish_reason ?? null, model: parsed.data.model ?? model, usage },
        usage: readTokenUsage(usage),
      };
    },
    streamState() {
      let text = '';
      let finish: string | null = null;
      let served = model;
      let usage: unknown = null;
      return {
        onEvent(event) {
          if (event.data === '[DONE]') return undefined;
          let json: unknown;
          try {
            json = JSON.parse(event.data);
          } catch {
            throw badResponse('stream event', event.data);
          }
          const errorMessage = (json as { error?: { message?: unknown } }).error?.message;
          if (typeof errorMessage === 'string') throw new ApiError(502, 'cloud_error', `The cloud server failed mid-stream: ${errorMessage}`);
          const parsed = chatChunkSchema.safeParse(json);
          if (!parsed.success) throw badResponse('stream chunk', json);
          served = parsed.data.model ?? served;
          usage = parsed.data.usage ?? usage;
          const choice = parsed.data.choices[0];
          finish = choice?.finish_reason ?? finish;
          const delta = choice?.delta?.content;
          if (!delta) return undefined;
          text += delta;
          return delta;
        },
        keptChars: () => text.length,
        result: () => ({ result: { text, message: { role: 'assistant', content: text }, finish_reason: finish, model: served, usage }, usage: readTokenUsage(usage) }),
      };
    },
  };
}

function embeddingsCall(base: string, model: string | null, payload: unknown): CloudCall {
  const parsed = embeddingsPayloadSchema.safeParse(payload);
  if (!parsed.success) throw badPayload('An embeddings plugin takes a string, an array of strings, or {input}');
  const input = typeof parsed.data === 'string' || Array.isArray(parsed.data) ? parsed.data : parsed.data.input;
  return {
    url: openAiUrl(base, '/embeddings'),
    body: { ...(model ? { model } : {}), input },
    stream: false,
    parseJson(json) {
      const response = embeddingsResponseSchema.safeParse(json);
      if (!response.success) throw badResponse('embeddings answer', json);
      const embeddings = [...response.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((item) => item.embedding);
      const usage = response.data.usage ?? null;
      return {
        result: { embeddings, ...(typeof input === 'string' ? { embedding: embeddings[0] ?? null } : {}), model: response.data.model ?? model, usage },
        usage: readTokenUsage(usage),
      };
    },
    streamState() {
      throw new Error('embeddings do not stream');
    },
  };
}

/** `{result}` is the AiPlugs answer shape; anything else is taken as the result itself. */
function unwrapResult(json: unknown): unknown {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'result' in json ? (json as { result: unknown }).result : json;
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function rawCall(base: string, pluginId: string, payload: unknown, stream: boolean): CloudCall {
  return {
    url: `${base.replace(/\/+$/, '')}/api/plugins/${encodeURIComponent(pluginId)}/infer`,
    body: { payload: payload ?? null },
    stream,
    parseJson: (json) => ({ result: unwrapResult(json), usage: null }),
    streamState() {
      // The AiPlugs SSE shape (`chunk`, `result`, `error` events); unnamed events are chunks.
      const chunks: unknown[] = [];
      let kept = 0;
      let final: { value: unknown } | null = null;
      return {
        onEvent(event) {
          const value = parseMaybeJson(event.data);
          if (event.event === 'error') {
            const message = (value as { error?: { message?: unknown } })?.error?.message;
            throw new ApiError(502, 'cloud_error', `The cloud server failed mid-stream: ${typeof message === 'string' ? message : event.data}`);
          }
          if (event.event === 'result') {
            final = { value: unwrapResult(value) };
            return undefined;
          }
          chunks.push(value);
          kept += event.data.length;
          return value;
        },
        keptChars: () => kept,
        result: () => ({ result: final ? final.value : chunks, usage: null }),
      };
    },
  };
}

export interface CloudCallOptions {
  baseUrl: string;
  pluginId: string;
  /** The manifest's `inference.cloud` (default: chat). */
  cloud: CloudSettings | undefined;
  /** `cloud.model` from config: used when the manifest names none. */
  defaultModel: string | null;
  payload: unknown;
  /** The caller wants partial results (it passed an onChunk). */
  stream: boolean;
  limits?: CloudCallLimits;
}

/** What one call may cost; decided per call by the caller (a plugin's or a page's budget). */
export interface CloudCallLimits {
  /**
   * The most output tokens a chat call may produce: `max_tokens` / `max_completion_tokens` are
   * clamped to it whatever the payload says (see `capOutputTokens`). Embeddings produce no output
   * tokens; a `raw` call's payload is the plugin's own and is not touched.
   */
  maxTokens?: number | undefined;
  /** Ask a streamed chat answer to report its usage (`stream_options.include_usage`). */
  streamUsage?: boolean | undefined;
}

const limitsSchema = z.object({ maxTokens: z.number().int().positive().optional(), streamUsage: z.boolean().optional() });

/**
 * Decides the URL and body of a cloud call from the manifest, the config and the payload, within
 * the caller's `limits` (an output-token cap, usage in streams).
 *
 * @example
 *   buildCloudCall({ baseUrl: 'http://gpu-box:8000', pluginId: 'summarize', cloud: { endpoint: 'chat', model: 'qwen2.5' }, defaultModel: null, payload: 'Hello', stream: false });
 *   // → { url: 'http://gpu-box:8000/v1/chat/completions', body: { model: 'qwen2.5', messages: [{ role: 'user', content: 'Hello' }], stream: false }, … }
 *   buildCloudCall({ …, payload: { prompt: 'Hello', max_tokens: 100000 }, limits: { maxTokens: 512 } }).body.max_tokens; // 512
 */
export function buildCloudCall(options: CloudCallOptions): CloudCall {
  const cloud: CloudSettings = options.cloud ?? { endpoint: 'chat' };
  const model = cloud.model ?? options.defaultModel;
  const limits = limitsSchema.parse(options.limits ?? {});
  switch (cloud.endpoint) {
    case 'embeddings':
      return embeddingsCall(options.baseUrl, model, options.payload);
    case 'raw':
      return rawCall(options.baseUrl, options.pluginId, options.payload, options.stream);
    default:
      return chatCall(options.baseUrl, model, cloud, options.payload, options.stream, limits);
  }
}
