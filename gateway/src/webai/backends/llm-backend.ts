// AiPlugs' built-in LLM worker (the `webai:llm` built-in): node-llama-cpp on one local GGUF model.
//
// Started by the worker manager like any Node plugin backend (lazily, idle-unloaded, under the
// memory watchdog), with the provisioned model's path in WEBAI_LLM_MODEL. The model and one
// context are loaded on the first request and kept for the worker's life. Requests:
//   {op: 'info', settings}                                  → {contextSize, inputQuota, model}
//   {op: 'count', settings, messages}                       → {tokens, inputQuota}
//   {op: 'generate', settings, messages, sampling, maxTokens, jsonSchema?}
//      → a stream: {type:'usage'}, then {type:'text'}…, then {type:'done'} — or a single
//        {type:'quota_exceeded'} / {type:'unsupported'} when it cannot start.
// Cancelling a request (the gateway's cancel message → the host's AbortSignal) stops generation.
import { getLlama, InsufficientMemoryError, LlamaChat, LlamaLogLevel, type ChatHistoryItem, type Llama, type LlamaContext, type LlamaGrammar, type LlamaModel } from 'node-llama-cpp';
import { z } from 'zod';
import { inputQuotaOf } from '../input-quota.js';
import { modelLoadError } from './model-load-error.js';

const settingsSchema = z.object({
  contextSize: z.number().int().positive(),
  /** CPU threads for llama.cpp; 0 = node-llama-cpp's choice. */
  threads: z.number().int().nonnegative(),
  /** Output tokens kept free of the context: the input quota is the context size minus this. */
  maxOutputTokens: z.number().int().positive(),
});
const messageSchema = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string(), prefix: z.boolean().optional() });
const requestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('info'), settings: settingsSchema }),
  z.object({ op: z.literal('count'), settings: settingsSchema, messages: z.array(messageSchema).min(1) }),
  z.object({
    op: z.literal('generate'),
    settings: settingsSchema,
    messages: z.array(messageSchema).min(1),
    sampling: z.object({ temperature: z.number().min(0), topK: z.number().int().positive() }),
    maxTokens: z.number().int().positive(),
    jsonSchema: z.unknown().optional(),
  }),
]);
type LlmRequest = z.infer<typeof requestSchema>;
type Settings = z.infer<typeof settingsSchema>;
type Message = z.infer<typeof messageSchema>;

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chat: LlamaChat;
  inputQuota: number;
}

let loading: Promise<Loaded> | null = null;

async function load(settings: Settings): Promise<Loaded> {
  const path = process.env.WEBAI_LLM_MODEL;
  if (!path) throw new Error('WEBAI_LLM_MODEL is not set: this backend is started by the AiPlugs gateway, which provisions the model');
  const started = Date.now();
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    progressLogs: false,
    ...(settings.threads > 0 ? { maxThreads: settings.threads } : {}),
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => console.error(`llama.cpp ${level}: ${message.trim()}`),
  });
  const model = await llama.loadModel({ modelPath: path }).catch((error: unknown) => {
    // Short of memory now says nothing about the file: it may load once memory is free.
    throw error instanceof InsufficientMemoryError ? error : modelLoadError(path, error);
  });
  const contextSize = Math.min(settings.contextSize, model.trainContextSize);
  const context = await model.createContext({ contextSize, sequences: 1 });
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  const inputQuota = inputQuotaOf(context.contextSize, settings.maxOutputTokens);
  console.log(`webai llm: loaded ${path} (context ${context.contextSize} tokens, ${chat.chatWrapper.wrapperName} template) in ${Date.now() - started} ms`);
  return { llama, model, context, chat, inputQuota };
}

/** The model is loaded once; the gateway restarts the worker when its settings change. */
function loaded(settings: Settings): Promise<Loaded> {
  loading ??= load(settings).catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

/** One model, one context sequence: calls take turns (the host may run several at once). */
let turn: Promise<unknown> = Promise.resolve();
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const next = turn.then(work, work);
  turn = next.catch(() => undefined);
  return next;
}

/** OpenAI-shaped messages → node-llama-cpp's history, ending with the model turn to generate. */
function historyOf(messages: Message[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message) => {
    if (message.role === 'system') return { type: 'system', text: message.content };
    if (message.role === 'user') return { type: 'user', text: message.content };
    return { type: 'model', response: [message.content] };
  });
  // A final assistant prefix is continued; otherwise the model starts a new turn.
  if (!messages.at(-1)?.prefix) history.push({ type: 'model', response: [] });
  return history;
}

function countTokens(state: Loaded, history: ChatHistoryItem[]): number {
  const { contextText } = state.chat.chatWrapper.generateContextState({ chatHistory: history });
  return contextText.tokenize(state.model.tokenizer).length;
}

/** Chunks pushed by a callback, read by a `for await`; ends when `end()` is called. */
function chunkQueue<T>() {
  const items: T[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const poke = () => {
    wake?.();
    wake = null;
  };
  return {
    push(item: T) {
      items.push(item);
      poke();
    },
    end() {
      ended = true;
      poke();
    },
    async *drain(): AsyncGenerator<T> {
      for (;;) {
        while (items.length > 0) yield items.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

async function grammarFor(state: Loaded, schema: unknown): Promise<LlamaGrammar | { unsupported: string }> {
  try {
    return await state.llama.createGrammarForJsonSchema(schema as never);
  } catch (error) {
    return { unsupported: `this JSON schema cannot be enforced locally: ${(error as Error).message}` };
  }
}

async function* generate(request: Extract<LlmRequest, { op: 'generate' }>, signal: AbortSignal): AsyncGenerator<unknown> {
  const state = await loaded(request.settings);
  const history = historyOf(request.messages);
  const inputTokens = countTokens(state, history);
  // `generatedSoFar`: every token this worker generated before this call (shows a cancelled call really stopped).
  yield { type: 'usage', inputTokens, inputQuota: state.inputQuota, generatedSoFar: state.chat.sequence.tokenMeter.usedOutputTokens };
  if (inputTokens > state.inputQuota) {
    yield { type: 'quota_exceeded', inputTokens, inputQuota: state.inputQuota };
    return;
  }
  let grammar: LlamaGrammar | undefined;
  if (request.jsonSchema !== undefined) {
    const made = await grammarFor(state, request.jsonSchema);
    if ('unsupported' in made) {
      yield { type: 'unsupported', message: made.unsupported };
      return;
    }
    grammar = made;
  }
  const queue = chunkQueue<string>();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const meter = state.chat.sequence.tokenMeter;
  const outputBefore = meter.usedOutputTokens;
  const started = Date.now();
  const done = exclusive(() =>
    state.chat.generateResponse(history, {
      signal: stop.signal,
      stopOnAbortSignal: true,
      maxTokens: Math.min(request.maxTokens, request.settings.maxOutputTokens),
      temperature: request.sampling.temperature,
      topK: request.sampling.topK,
      ...(grammar ? { grammar } : {}),
      onTextChunk: (text) => queue.push(text),
    }),
  ).finally(() => queue.end());
  try {
    for await (const text of queue.drain()) yield { type: 'text', text };
    const response = await done;
    yield {
      type: 'done',
      outputTokens: meter.usedOutputTokens - outputBefore,
      stopReason: response.metadata.stopReason,
      milliseconds: Date.now() - started,
    };
  } finally {
    // The host stops reading on cancel: stop the generation too, and wait until it has stopped.
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    await done.catch(() => undefined);
  }
}

export async function run(payload: unknown, { signal }: { signal: AbortSignal }): Promise<unknown> {
  const request = requestSchema.parse(payload);
  if (request.op === 'generate') return generate(request, signal);
  const state = await loaded(request.settings);
  if (request.op === 'info') return { contextSize: state.context.contextSize, inputQuota: state.inputQuota, trainContextSize: state.model.trainContextSize, chatTemplate: state.chat.chatWrapper.wrapperName };
  return { tokens: countTokens(state, historyOf(request.messages)), inputQuota: state.inputQuota };
}
