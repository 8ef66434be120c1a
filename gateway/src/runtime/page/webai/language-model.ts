import { rejecting } from './rejecting.js';
import { createOnGateway } from './create-flow.js';
import { ModelScope } from './model-scope.js';
import { pickOptions } from './pick-options.js';
import type { WebAiChannel } from './webai-channel.js';
import type { WebAiEnv } from './webai-env.js';
import { quotaError } from './webai-errors.js';

/** The Prompt API's defaults, as the gateway applies them (webai/prompts/language-model-prompt.ts). */
const DEFAULT_TOP_K = 3;
const DEFAULT_TEMPERATURE = 1;
const OPTION_KEYS = ['initialPrompts', 'temperature', 'topK', 'expectedInputs', 'expectedOutputs'] as const;

type Turn = { role: string; content: unknown; prefix?: boolean };

interface SessionState {
  options: Record<string, unknown>;
  /** The turns after `initialPrompts`: the gateway keeps no session, the page sends them every time. */
  history: Turn[];
  inputUsage: number;
  inputQuota: number;
  scope: ModelScope;
  /** Prompts and appends run one after another, as the spec queues them. */
  queue: Promise<unknown>;
  onquotaoverflow: ((event: Event) => void) | null;
}

const CREATING = {};

/**
 * `LanguageModel` (the Prompt API): a session that keeps its history in the page and sends it,
 * with `initialPrompts`, on every call. `prompt`/`promptStreaming` answer and extend the history,
 * `append` extends it without answering, `clone` copies it, `measureInputUsage` counts tokens.
 */
export function defineLanguageModel(env: WebAiEnv, channel: WebAiChannel) {
  const states = new WeakMap<object, SessionState>();
  const stateOf = (self: unknown): SessionState => {
    const state = states.get(self as object);
    if (!state) throw new TypeError('Illegal invocation: not a LanguageModel');
    return state;
  };

  /** A prompt as turns; a system message outside `initialPrompts` is NotSupportedError (the spec's rule). */
  function turnsOf(input: unknown): Turn[] {
    if (!Array.isArray(input)) return [{ role: 'user', content: String(input) }];
    return input.map((message: unknown) => {
      if (!message || typeof message !== 'object') throw new TypeError('Each message must be an object with a role and content');
      const { role, content, prefix } = message as Turn;
      if (role === 'system') throw new env.DOMException('A system message may only be the first of initialPrompts', 'NotSupportedError');
      if (role !== 'user' && role !== 'assistant') throw new TypeError(`Unknown message role "${String(role)}"`);
      return { role, content: typeof content === 'string' || Array.isArray(content) ? content : String(content), ...(prefix ? { prefix: true } : {}) };
    });
  }

  function constraintOf(options: unknown): Record<string, unknown> {
    if (!options || typeof options !== 'object') return {};
    const { responseConstraint, omitResponseConstraintInput } = options as LanguageModelPromptOptions;
    if (responseConstraint === undefined) return {};
    if (responseConstraint instanceof env.world.w.RegExp) throw new env.DOMException('A RegExp response constraint is not supported here; use a JSON schema', 'NotSupportedError');
    return { responseConstraint, ...(omitResponseConstraintInput ? { omitResponseConstraintInput: true } : {}) };
  }

  const signalOf = (options: unknown) => (options && typeof options === 'object' ? (options as { signal?: AbortSignal }).signal : undefined);

  /** Runs after every earlier prompt/append of the session settled. */
  function queued<T>(state: SessionState, work: () => Promise<T>): Promise<T> {
    const next = state.queue.then(work, work);
    state.queue = next.catch(() => undefined);
    return next;
  }

  function answered(state: SessionState, turns: Turn[], text: string, usage: { inputTokens?: unknown; outputTokens?: unknown } | undefined) {
    state.history.push(...turns, { role: 'assistant', content: text });
    if (usage && typeof usage.inputTokens === 'number') state.inputUsage = usage.inputTokens + (typeof usage.outputTokens === 'number' ? usage.outputTokens : 0);
  }

  function instanceOf(options: Record<string, unknown>, history: Turn[], inputUsage: number, inputQuota: number, lifetime: AbortSignal | undefined): object {
    const instance = new LanguageModel(CREATING);
    states.set(instance, { options, history, inputUsage, inputQuota, scope: new ModelScope(env, lifetime), queue: Promise.resolve(), onquotaoverflow: null });
    return instance;
  }

  const Base = env.EventTarget;
  class LanguageModel extends Base {
    constructor(token?: unknown) {
      if (token !== CREATING) throw new TypeError('Illegal constructor');
      super();
    }

    static availability(options?: unknown): Promise<Availability> {
      return rejecting(() =>
        channel
          .json('language-model', 'availability', { options: pickOptions(options, OPTION_KEYS) }, new env.AbortController().signal)
          .then((answer) => (answer as { availability: Availability }).availability),
      );
    }

    static create(options?: unknown): Promise<object> {
      return rejecting(() => {
        const picked = pickOptions(options, OPTION_KEYS);
        const create = (options || {}) as WebAiCreateOptions;
        return createOnGateway(env, channel, 'language-model', picked, { signal: create.signal, monitor: create.monitor }).then((ready) => instanceOf(picked, [], ready.inputUsage, ready.inputQuota, create.signal));
      });
    }

    get topK(): number {
      const topK = stateOf(this).options.topK;
      return typeof topK === 'number' ? topK : DEFAULT_TOP_K;
    }
    get temperature(): number {
      const temperature = stateOf(this).options.temperature;
      return typeof temperature === 'number' ? temperature : DEFAULT_TEMPERATURE;
    }
    get inputUsage(): number {
      return stateOf(this).inputUsage;
    }
    get inputQuota(): number {
      return stateOf(this).inputQuota;
    }
    get contextUsage(): number {
      return this.inputUsage;
    }
    get contextWindow(): number {
      return this.inputQuota;
    }
    get onquotaoverflow(): ((event: Event) => void) | null {
      return stateOf(this).onquotaoverflow;
    }
    set onquotaoverflow(value: ((event: Event) => void) | null) {
      stateOf(this).onquotaoverflow = typeof value === 'function' ? value : null;
    }

    prompt(input: unknown, options?: unknown): Promise<string> {
      return rejecting(() => {
        const state = stateOf(this);
        const turns = turnsOf(input);
        const constraint = constraintOf(options);
        return state.scope.run(signalOf(options), (signal) =>
          queued(state, () =>
            channel.json('language-model', 'prompt', { options: state.options, input: [...state.history, ...turns], ...constraint }, signal).then((answer) => {
              const { result, usage } = answer as { result: string; usage?: { inputTokens?: unknown; outputTokens?: unknown } };
              answered(state, turns, result, usage);
              return result;
            }),
          ),
        );
      });
    }

    promptStreaming(input: unknown, options?: unknown): ReadableStream<string> {
      const state = stateOf(this);
      const turns = turnsOf(input);
      const constraint = constraintOf(options);
      return state.scope.stream(signalOf(options), (signal, enqueue) =>
        queued(state, () =>
          channel.events('language-model', 'prompt', { options: state.options, input: [...state.history, ...turns], ...constraint, stream: true }, signal, (event) => {
            const data = event.data as { text?: unknown; result?: unknown; usage?: { inputTokens?: unknown; outputTokens?: unknown } };
            if (event.event === 'chunk' && typeof data.text === 'string' && data.text !== '') enqueue(data.text);
            else if (event.event === 'result' && typeof data.result === 'string') answered(state, turns, data.result, data.usage);
          }),
        ),
      );
    }

    append(input: unknown, options?: unknown): Promise<undefined> {
      return rejecting(() => {
        const state = stateOf(this);
        const turns = turnsOf(input);
        return state.scope.run(signalOf(options), (signal) =>
          queued(state, () =>
            // Counted now, so an append that cannot fit fails here and not at the next prompt.
            channel.json('language-model', 'measure', { options: state.options, input: [...state.history, ...turns] }, signal).then((answer) => {
              const { tokens } = answer as { tokens: number };
              if (tokens > state.inputQuota) throw quotaError(env, 'The input is larger than the input quota', { quota: state.inputQuota, requested: tokens });
              state.history.push(...turns);
              state.inputUsage = tokens;
              return undefined;
            }),
          ),
        );
      });
    }

    measureInputUsage(input: unknown, options?: unknown): Promise<number> {
      return rejecting(() => {
        const state = stateOf(this);
        const turns = turnsOf(input);
        const constraint = constraintOf(options);
        const bare = { ...state.options };
        delete bare.initialPrompts;
        return state.scope.run(signalOf(options), (signal) =>
          channel.json('language-model', 'measure', { options: bare, input: turns, ...constraint }, signal).then((answer) => (answer as { tokens: number }).tokens),
        );
      });
    }

    measureContextUsage(input: unknown, options?: unknown): Promise<number> {
      return this.measureInputUsage(input, options);
    }

    clone(options?: unknown): Promise<object> {
      return rejecting(() => {
        const state = stateOf(this);
        const signal = signalOf(options);
        return state.scope.run(signal, () =>
          queued(state, () => Promise.resolve(instanceOf(state.options, state.history.map((turn) => ({ ...turn })), state.inputUsage, state.inputQuota, signal))),
        );
      });
    }

    destroy(): void {
      stateOf(this).scope.destroy();
    }
  }
  Object.defineProperty(LanguageModel.prototype, Symbol.toStringTag, { value: 'LanguageModel', configurable: true });
  return LanguageModel as unknown as { availability(options?: unknown): Promise<Availability>; create(options?: unknown): Promise<object> };
}
