import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Caller } from '../api/api-env.js';
import { ApiError } from '../api/api-error.js';
import type { CloudBudget } from '../inference/cloud-budget.js';
import { localCallLimits, type InferenceBackend } from '../inference/inference-router.js';
import type { ModelProvisioner } from '../models/model-provisioner.js';
import { PENDING_SHA256 } from '../models/model-pins.js';
import type { ModelProgress } from '../models/progress-meter.js';
import type { LoadedPlugin } from '../plugins/plugin-registry.js';
import { workerErrors } from '../workers/worker-errors.js';
import { LLM_MODEL_KEY, webAiCloudRecord, type WebAiBuiltIns, type WebAiConfig } from './builtin-plugins.js';
import { inputQuotaOf } from './input-quota.js';
import type { SiteLimits } from './site-limits.js';
import { initialConversation, languageModelPrompt, samplingOf, type ResponseConstraint } from './prompts/language-model-prompt.js';
import { proofreadCorrections } from './prompts/proofread-corrections.js';
import { proofreaderPrompt } from './prompts/proofreader-prompt.js';
import type { PromptMessage } from './prompts/prompt-message.js';
import { rewriterPrompt } from './prompts/rewriter-prompt.js';
import { summarizerPrompt } from './prompts/summarizer-prompt.js';
import { translatorPrompt } from './prompts/translator-prompt.js';
import { writerPrompt } from './prompts/writer-prompt.js';
import { OPTIONS_SCHEMA, type OptionsOf, type WebAiApi, type WebAiCall } from './webai-apis.js';
import { InputQuotaError, webAiError } from './webai-errors.js';
import { createUnloadableModel } from './unloadable-model.js';
import { unsupportedReason } from './webai-support.js';

export type Availability = 'unavailable' | 'downloadable' | 'downloading' | 'available';
export type WebAiBackend = 'local' | 'cloud';

export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
}

export interface WebAiServiceOptions {
  config: () => WebAiConfig;
  builtIns: WebAiBuiltIns;
  /** The worker manager. */
  local: InferenceBackend;
  /** The cloud relay; its settings decide whether the cloud is configured. */
  cloud: InferenceBackend;
  cloudConfigured: () => boolean;
  /** Page calls to the cloud spend Web AI's cloud budget (`cloud.page_*`), like a plugin's. */
  budget: CloudBudget;
  provisioner: Pick<ModelProvisioner, 'ensure' | 'list' | 'offline'>;
  /** Origins the user allowed to reach the cloud through Web AI (`settings.webai_cloud_origins`). */
  cloudOrigins: () => readonly string[];
  /** Whether AiPlugs still works on this origin (not paused, site not disabled). */
  siteActive: (origin: string) => boolean;
  limits: SiteLimits;
}

/** What `measure`, `create` and a generation tell the page about its quota. */
export interface QuotaInfo {
  inputQuota: number;
  backend: WebAiBackend;
}

/**
 * Web AI: the browser's built-in AI APIs answered by AiPlugs. Decides, per call and per calling
 * origin, which backend serves it (the local model, or the cloud where the user allows that
 * origin), whether it can (availability), provisions the model with progress (create), and runs
 * the task's prompt (one file per API under prompts/) on the LLM worker or the cloud relay.
 * Stateless: sessions live in the page, which sends its history with every call.
 *
 * @example
 *   const webAi = createWebAiService({ config: () => config.webai, builtIns, local: workers, cloud, … });
 *   await webAi.availability('summarizer', {}, { kind: 'page', origin, session });
 */
export function createWebAiService(options: WebAiServiceOptions) {
  const cloudRecord = webAiCloudRecord();
  let detectorLanguages: string[] | null = null;
  const llmModel = createUnloadableModel(async () => options.config().model_path || ((await options.provisioner.list([options.builtIns.llm]))[0]?.path ?? null));
  /** A call to the LLM worker: the first one of a worker loads the model, and may find it cannot. */
  const llmCall = (payload: unknown, caller: Caller, signal: AbortSignal, onChunk?: Parameters<InferenceBackend['infer']>[3]) =>
    options.local.infer(options.builtIns.llm, payload, signal, onChunk, localCallLimits(caller)).catch(llmModel.noteFailure);

  const settings = () => {
    const config = options.config();
    return {
      contextSize: config.context_size,
      threads: config.threads > 0 ? config.threads : Math.max(1, availableParallelism() - 1),
      maxOutputTokens: config.max_output_tokens,
    };
  };

  const backendOf = (api: WebAiApi): WebAiBackend => (api !== 'language-detector' && options.config().cloud_apis.includes(api) ? 'cloud' : 'local');

  function parseOptions<A extends WebAiApi>(api: A, raw: unknown): OptionsOf<A> {
    const parsed = OPTIONS_SCHEMA[api].safeParse(raw ?? {});
    if (!parsed.success) throw new ApiError(400, 'invalid_body', `options: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`).join('; ')}`);
    return parsed.data as OptionsOf<A>;
  }

  /** Everything that refuses a call before any work: switched off, not allowed, unsupported. */
  function admit<A extends WebAiApi>(api: A, rawOptions: unknown, caller: Caller): { options: OptionsOf<A>; backend: WebAiBackend } {
    const config = options.config();
    if (!config.enabled) throw webAiError('webai_disabled', 'Web AI is switched off (webai.enabled)');
    if (caller.kind === 'page' && !options.siteActive(caller.origin)) throw webAiError('webai_disabled', `AiPlugs is paused or switched off on ${caller.origin}`);
    const parsed = parseOptions(api, rawOptions);
    const backend = backendOf(api);
    if (backend === 'cloud') {
      if (!options.cloudConfigured()) throw webAiError('webai_not_supported', `${api} is set to the cloud (webai.cloud_apis) but no cloud server is configured`);
      if (caller.kind === 'page' && !options.cloudOrigins().includes(caller.origin)) {
        throw webAiError('webai_cloud_not_allowed', `${api} is served by the cloud, and ${caller.origin} is not in settings.webai_cloud_origins`);
      }
    }
    const problem = unsupportedReason(api, parsed, { llm: config.languages, detector: detectorLanguages });
    if (problem) throw webAiError('webai_not_supported', `${api}: ${problem}`);
    return { options: parsed, backend };
  }

  const pluginOf = (api: WebAiApi): LoadedPlugin => (api === 'language-detector' ? options.builtIns.languageDetector : options.builtIns.llm);

  /** Where the local model of `api` stands, without hashing or downloading anything. */
  async function localState(api: WebAiApi): Promise<Availability> {
    const config = options.config();
    if (api !== 'language-detector' && (await llmModel.isUnloadable())) return 'unavailable';
    if (api !== 'language-detector' && config.model_path) return (await stat(config.model_path).catch(() => null))?.isFile() ? 'available' : 'unavailable';
    const [status] = await options.provisioner.list([pluginOf(api)]);
    if (!status) return 'unavailable';
    if (status.state === 'ready') return 'available';
    // Present but unhashed: verified at create, in well under a second per 100 MB.
    if (status.state === 'unverified') return status.sha256 === PENDING_SHA256 ? 'downloadable' : 'available';
    if (status.state === 'downloading') return 'downloading';
    if (status.state === 'conflict') return 'unavailable';
    const declaration = pluginOf(api).manifest.inference?.models[0];
    const fileSource = [declaration?.source_url, ...(declaration?.mirrors ?? [])].some((url) => url?.startsWith('file:'));
    return options.provisioner.offline && !fileSource ? 'unavailable' : 'downloadable';
  }

  /**
   * A page can call any route without the runtime's user-gesture check, and every local call starts
   * a cold worker, which provisions its model: only the user may start the LLM's download (hundreds
   * of MB), unless they let pages (webai.page_downloads). Asked before each page call that would.
   */
  async function refusePageDownload(api: WebAiApi, caller: Caller): Promise<void> {
    if (caller.kind !== 'page' || api === 'language-detector' || options.config().page_downloads) return;
    if ((await localState(api)) !== 'downloadable') return;
    throw webAiError('webai_download_not_allowed', `${caller.origin} asked to download the Web AI model; only the user may start it (webai.page_downloads is off)`);
  }

  /**
   * What a session's `initialPrompts` take of the input quota, checked at `create()` as the spec
   * does: a malformed start is a SyntaxError there, one over the quota a QuotaExceededError. Only
   * the LanguageModel has them.
   */
  async function initialUsage(api: WebAiApi, parsed: OptionsOf<WebAiApi>, inputQuota: number, backend: WebAiBackend, caller: Caller, signal: AbortSignal): Promise<number> {
    if (api !== 'language-model') return 0;
    const messages = initialConversation(parsed as OptionsOf<'language-model'>);
    if (messages.length === 0) return 0;
    checkInputSize(messages);
    const tokens = backend === 'cloud' ? estimateTokens(messages) : ((await llmCall({ op: 'count', settings: settings(), messages }, caller, signal)) as { tokens: number }).tokens;
    if (tokens > inputQuota) throw new InputQuotaError(tokens, inputQuota);
    return tokens;
  }

  /** The worker's environment for a built-in: the model provisioned (or `webai.model_path` checked). */
  async function provisionBuiltIn(plugin: LoadedPlugin, signal: AbortSignal, onProgress?: (progress: ModelProgress) => void): Promise<Record<string, string>> {
    const path = options.config().model_path;
    if (plugin.id === options.builtIns.llm.id && path) {
      if (!(await stat(path).catch(() => null))?.isFile()) throw new ApiError(503, 'models_unavailable', `webai.model_path ${path} is not a file`);
      return { [LLM_MODEL_KEY]: path };
    }
    return options.provisioner.ensure(plugin, { signal, ...(onProgress ? { onProgress } : {}) });
  }

  function promptOf(api: WebAiApi, parsed: OptionsOf<WebAiApi>, call: WebAiCall, constraint: ResponseConstraint | undefined): PromptMessage[] {
    const text = () => {
      if (typeof call.input !== 'string') throw new ApiError(400, 'invalid_body', `input: ${api} takes a string`);
      return call.input;
    };
    switch (api) {
      case 'summarizer':
        return summarizerPrompt(parsed as OptionsOf<'summarizer'>, text(), call.context);
      case 'writer':
        return writerPrompt(parsed as OptionsOf<'writer'>, text(), call.context);
      case 'rewriter':
        return rewriterPrompt(parsed as OptionsOf<'rewriter'>, text(), call.context);
      case 'proofreader':
        return proofreaderPrompt(parsed as OptionsOf<'proofreader'>, text());
      case 'translator':
        return translatorPrompt(parsed as OptionsOf<'translator'>, text());
      case 'language-model': {
        const turns = typeof call.input === 'string' ? [{ role: 'user' as const, content: call.input }] : call.input;
        return languageModelPrompt(parsed as OptionsOf<'language-model'>, turns, constraint);
      }
      case 'language-detector':
        throw new ApiError(400, 'invalid_body', 'the language detector detects, it does not prompt');
    }
  }

  /** Bounded before anything is tokenized: characters of everything the call sends. */
  function checkInputSize(messages: PromptMessage[]): void {
    const max = options.config().max_input_chars;
    const chars = messages.reduce((sum, message) => sum + message.content.length, 0);
    if (chars > max) throw webAiError('webai_quota_exceeded', `the input is ${chars} characters, more than webai.max_input_chars (${max})`);
  }

  const constraintOf = (call: WebAiCall): ResponseConstraint | undefined =>
    call.responseConstraint === undefined ? undefined : { schema: call.responseConstraint, omitFromInput: call.omitResponseConstraintInput ?? false };

  /** A cloud estimate: about four characters per token (no tokenizer for a remote model). */
  const estimateTokens = (messages: PromptMessage[]) => Math.ceil(messages.reduce((sum, message) => sum + message.content.length, 0) / 4);

  async function generateLocal(messages: PromptMessage[], sampling: { temperature: number; topK: number }, jsonSchema: unknown, caller: Caller, signal: AbortSignal, onText: ((text: string) => void) | undefined) {
    let text = '';
    const usage: Usage = { inputTokens: null, outputTokens: null };
    let refusal: ApiError | null = null;
    const config = options.config();
    await llmCall(
      { op: 'generate', settings: settings(), messages, sampling, maxTokens: config.max_output_tokens, ...(jsonSchema !== undefined ? { jsonSchema } : {}) },
      caller,
      signal,
      (chunk) => {
        const event = chunk as { type?: string; text?: string; inputTokens?: number; inputQuota?: number; outputTokens?: number; message?: string };
        if (event.type === 'text' && typeof event.text === 'string') {
          text += event.text;
          onText?.(event.text);
        } else if (event.type === 'usage') usage.inputTokens = event.inputTokens ?? null;
        else if (event.type === 'done') usage.outputTokens = event.outputTokens ?? null;
        else if (event.type === 'quota_exceeded') refusal = new InputQuotaError(event.inputTokens ?? 0, event.inputQuota ?? 0);
        else if (event.type === 'unsupported') refusal = webAiError('webai_not_supported', event.message ?? 'not supported by the local model');
      },
    );
    if (refusal) throw refusal;
    return { text, usage };
  }

  async function generateCloud(messages: PromptMessage[], sampling: { temperature: number }, jsonSchema: unknown, caller: Caller, signal: AbortSignal, onText: ((text: string) => void) | undefined) {
    const config = options.config();
    let maxTokens = config.max_output_tokens;
    // What a page controls of the payload: the prompt and a response constraint's schema (both billed as input).
    const inputBytes = Buffer.byteLength(JSON.stringify(messages)) + (jsonSchema === undefined ? 0 : Buffer.byteLength(JSON.stringify(jsonSchema)));
    if (caller.kind === 'page') maxTokens = Math.min(maxTokens, options.budget.admit(cloudRecord, inputBytes).maxTokens);
    const usage: Usage = { inputTokens: null, outputTokens: null };
    const payload = {
      messages: messages.map(({ role, content }) => ({ role, content })),
      temperature: sampling.temperature,
      max_tokens: maxTokens,
      ...(jsonSchema !== undefined ? { response_format: { type: 'json_schema', json_schema: { name: 'response', schema: jsonSchema } } } : {}),
    };
    const result = (await options.cloud.infer(cloudRecord, payload, signal, onText ? (chunk) => typeof chunk === 'string' && onText(chunk) : undefined, {
      maxTokens,
      onUsage: (reported) => {
        usage.inputTokens = reported.inputTokens;
        usage.outputTokens = reported.outputTokens;
        if (caller.kind === 'page') options.budget.recordTokens(cloudRecord.id, reported.totalTokens);
      },
    })) as { text?: unknown };
    return { text: typeof result?.text === 'string' ? result.text : '', usage };
  }

  return {
    /** The spec's `availability(options)`, truthful for the calling origin. */
    async availability(api: WebAiApi, rawOptions: unknown, caller: Caller): Promise<Availability> {
      let backend: WebAiBackend;
      try {
        ({ backend } = admit(api, rawOptions, caller));
      } catch (error) {
        // Bad options are the page's error (a TypeError there); every refusal is "unavailable".
        if (error instanceof ApiError && error.code === 'invalid_body') throw error;
        return 'unavailable';
      }
      return backend === 'cloud' ? 'available' : localState(api);
    },

    /**
     * The spec's `create()`: makes the backend ready — downloads and verifies the model with
     * progress (`loaded`, 0…1), starts the worker — and tells the input quota. Cancelled by `signal`.
     */
    async create(api: WebAiApi, rawOptions: unknown, caller: Caller, signal: AbortSignal, onProgress: (loaded: number) => void): Promise<QuotaInfo & { inputUsage: number }> {
      const { options: parsed, backend } = admit(api, rawOptions, caller);
      if (caller.kind === 'page') options.limits.admit(caller.origin);
      if (api === 'language-model') samplingOf(parsed as OptionsOf<'language-model'>);
      onProgress(0);
      if (backend === 'cloud') {
        const inputQuota = inputQuotaOf(options.config().context_size, options.config().max_output_tokens);
        const inputUsage = await initialUsage(api, parsed, inputQuota, backend, caller, signal);
        onProgress(1);
        return { inputQuota, inputUsage, backend };
      }
      const plugin = pluginOf(api);
      await refusePageDownload(api, caller);
      try {
        await provisionBuiltIn(plugin, signal, (progress) => {
          // Bytes of the one model file; 1 is sent once the worker is ready, not when bytes end.
          if (progress.state === 'downloading' && progress.totalBytes) onProgress(Math.min(0.99, progress.receivedBytes / progress.totalBytes));
        });
      } catch (error) {
        if (signal.aborted) throw workerErrors.cancelled();
        const code = error instanceof ApiError ? error.code : (error as { code?: string }).code;
        throw webAiError('webai_download_failed', `the model for ${api} could not be provisioned (${code ?? 'error'}): ${(error as Error).message}`);
      }
      let inputQuota: number;
      if (api === 'language-detector') {
        const { languages } = (await options.local.infer(plugin, { op: 'languages' }, signal, undefined, localCallLimits(caller))) as { languages: string[] };
        detectorLanguages = languages;
        const problem = unsupportedReason('language-detector', parsed as OptionsOf<'language-detector'>, { llm: options.config().languages, detector: languages });
        if (problem) throw webAiError('webai_not_supported', `${api}: ${problem}`);
        inputQuota = options.config().max_input_chars;
      } else {
        ({ inputQuota } = (await llmCall({ op: 'info', settings: settings() }, caller, signal)) as { inputQuota: number });
      }
      const inputUsage = await initialUsage(api, parsed, inputQuota, backend, caller, signal);
      onProgress(1);
      return { inputQuota, inputUsage, backend };
    },

    /** The spec's `measureInputUsage()`: tokens this input would take (with the session's history). */
    async measure(api: WebAiApi, call: WebAiCall, caller: Caller, signal: AbortSignal): Promise<QuotaInfo & { tokens: number }> {
      const { options: parsed, backend } = admit(api, call.options, caller);
      if (caller.kind === 'page') options.limits.admit(caller.origin);
      const config = options.config();
      if (api === 'language-detector') {
        if (typeof call.input !== 'string') throw new ApiError(400, 'invalid_body', 'input: a string');
        return { tokens: call.input.length, inputQuota: config.max_input_chars, backend };
      }
      const messages = promptOf(api, parsed, call, constraintOf(call));
      checkInputSize(messages);
      if (backend === 'cloud') return { tokens: estimateTokens(messages), inputQuota: inputQuotaOf(config.context_size, config.max_output_tokens), backend };
      await refusePageDownload(api, caller);
      const counted = (await llmCall({ op: 'count', settings: settings(), messages }, caller, signal)) as { tokens: number; inputQuota: number };
      return { tokens: counted.tokens, inputQuota: counted.inputQuota, backend };
    },

    /** `prompt` / `summarize` / `write` / `rewrite` / `proofread` / `translate`, streamed through `onText` when given. */
    async run(api: Exclude<WebAiApi, 'language-detector'>, call: WebAiCall, caller: Caller, signal: AbortSignal, onText?: (text: string) => void) {
      const { options: parsed, backend } = admit(api, call.options, caller);
      const constraint = api === 'language-model' ? constraintOf(call) : undefined;
      const sampling = api === 'language-model' ? samplingOf(parsed as OptionsOf<'language-model'>) : { temperature: 0.2, topK: 20 };
      const messages = promptOf(api, parsed, call, constraint);
      checkInputSize(messages);
      if (backend === 'local') await refusePageDownload(api, caller);
      let release = () => {};
      if (caller.kind === 'page') {
        options.limits.admit(caller.origin);
        release = await options.limits.startGeneration(caller.origin, signal);
      }
      try {
        // A proofreader's corrections come from the whole answer: it does not stream its raw text.
        const stream = api === 'proofreader' ? undefined : onText;
        const { text, usage } =
          backend === 'local'
            ? await generateLocal(messages, sampling, constraint?.schema, caller, signal, stream)
            : await generateCloud(messages, sampling, constraint?.schema, caller, signal, stream);
        if (constraint && backend === 'cloud') {
          try {
            JSON.parse(text);
          } catch {
            throw webAiError('webai_bad_output', 'the cloud model did not answer with JSON for the response constraint');
          }
        }
        if (api === 'proofreader') {
          const input = call.input as string;
          const withTypes = (parsed as OptionsOf<'proofreader'>).includeCorrectionTypes;
          const correctedInput = text.trim() === '' ? input : text.trim();
          return { result: { correctedInput, corrections: proofreadCorrections(input, correctedInput, { withTypes }) }, usage, backend };
        }
        return { result: text, usage, backend };
      } finally {
        release();
      }
    },

    /** `LanguageDetector.detect()`: ranked `[{detectedLanguage, confidence}]`, ending in "und". */
    async detect(call: WebAiCall, caller: Caller, signal: AbortSignal) {
      admit('language-detector', call.options, caller);
      if (typeof call.input !== 'string') throw new ApiError(400, 'invalid_body', 'input: a string');
      if (call.input.length > options.config().max_input_chars) throw webAiError('webai_quota_exceeded', `the input is longer than webai.max_input_chars (${options.config().max_input_chars})`);
      if (caller.kind === 'page') options.limits.admit(caller.origin);
      return (await options.local.infer(options.builtIns.languageDetector, { op: 'detect', text: call.input }, signal, undefined, localCallLimits(caller))) as { results: Array<{ detectedLanguage: string; confidence: number }> };
    },

    /** For the worker manager: provisions a built-in before its worker starts. */
    provisionBuiltIn,

    /** For `GET /api/webai/status` (the dashboard, the CLI): per API, its backend and state. */
    async status() {
      const config = options.config();
      const apis = await Promise.all(
        (['language-model', 'summarizer', 'writer', 'rewriter', 'proofreader', 'translator', 'language-detector'] as const).map(async (api) => {
          const backend = backendOf(api);
          const state: Availability = !config.enabled ? 'unavailable' : backend === 'cloud' ? (options.cloudConfigured() ? 'available' : 'unavailable') : await localState(api);
          return { api, backend, state };
        }),
      );
      return { enabled: config.enabled, model: config.model_path ?? config.model_url, modelSha256: config.model_path ? null : config.model_sha256, languages: config.languages, apis };
    },
  };
}

export type WebAiService = ReturnType<typeof createWebAiService>;
