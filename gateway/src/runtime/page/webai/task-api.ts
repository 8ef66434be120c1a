import { rejecting } from './rejecting.js';
import { createOnGateway } from './create-flow.js';
import { attributeOf, pickOptions } from './pick-options.js';
import { ModelScope } from './model-scope.js';
import type { WebAiChannel, WebAiRoute } from './webai-channel.js';
import type { WebAiEnv } from './webai-env.js';

/** One task API (Summarizer, Writer, Rewriter, Proofreader, Translator, LanguageDetector) as data. */
export interface TaskApiSpec {
  /** The global's name. */
  name: string;
  route: WebAiRoute;
  /** The gateway's verb and the instance method (`summarize`, `detect`, ...). */
  verb: string;
  /** The `...Streaming()` method, where the API has one. */
  streaming?: string;
  /** The creation options the API knows (sent to the gateway with every call: it keeps no session). */
  optionKeys: readonly string[];
  /** Read-only attributes and their defaults when not asked for (null: "not given"). */
  attributes: Readonly<Record<string, unknown>>;
  /** The per-call options sent besides `signal` (the writing APIs' `context`). */
  callKeys: readonly string[];
  /** An empty or blank input answers this without asking the model (the specs' shortcut), if set. */
  blankAnswer?: unknown;
  /** The answer's part the method resolves to (default: `result`). */
  resultOf?: (answer: unknown) => unknown;
}

interface TaskState {
  options: Record<string, unknown>;
  inputQuota: number;
  scope: ModelScope;
}

/** The private token only create() has: `new Summarizer()` from a page is a TypeError, as natively. */
const CREATING = {};

/**
 * Defines one task API's class: static `availability()` / `create()`, the API's method and its
 * streaming variant, `measureInputUsage()`, `inputQuota`, the attributes, and `destroy()`, all
 * answered by the gateway through the bridge.
 */
export function defineTaskApi(env: WebAiEnv, channel: WebAiChannel, spec: TaskApiSpec): { availability(options?: unknown): Promise<Availability>; create(options?: unknown): Promise<object> } {
  const states = new WeakMap<object, TaskState>();
  const stateOf = (self: unknown): TaskState => {
    const state = states.get(self as object);
    if (!state) throw new TypeError(`Illegal invocation: not a ${spec.name}`);
    return state;
  };
  const bodyOf = (state: TaskState, input: unknown, options: unknown) => ({ options: state.options, input: String(input), ...pickOptions(options, spec.callKeys) });
  const resultOf = spec.resultOf || ((answer: unknown) => (answer as { result: unknown }).result);
  const signalOf = (options: unknown) => (options && typeof options === 'object' ? (options as { signal?: AbortSignal }).signal : undefined);
  const isBlank = (input: unknown) => spec.blankAnswer !== undefined && String(input).trim() === '';

  const Api = class {
    constructor(token?: unknown) {
      if (token !== CREATING) throw new TypeError('Illegal constructor');
    }

    static availability(options?: unknown): Promise<Availability> {
      return rejecting(() => {
        const picked = pickOptions(options, spec.optionKeys);
        return channel.json(spec.route, 'availability', { options: picked }, new env.AbortController().signal).then((answer) => (answer as { availability: Availability }).availability);
      });
    }

    static create(options?: unknown): Promise<object> {
      return rejecting(() => {
        const picked = pickOptions(options, spec.optionKeys);
        const create = (options || {}) as WebAiCreateOptions;
        return createOnGateway(env, channel, spec.route, picked, { signal: create.signal, monitor: create.monitor }).then((ready) => {
          const instance = new Api(CREATING);
          states.set(instance, { options: picked, inputQuota: ready.inputQuota, scope: new ModelScope(env, create.signal) });
          return instance;
        });
      });
    }
  };

  const methods: Record<string, PropertyDescriptor> = {
    [spec.verb]: {
      value(this: unknown, input: unknown, options?: unknown) {
        return rejecting(() => {
          const state = stateOf(this);
          return state.scope.run(signalOf(options), (signal) => {
            if (isBlank(input)) return Promise.resolve(spec.blankAnswer);
            return channel.json(spec.route, spec.verb, bodyOf(state, input, options), signal).then(resultOf);
          });
        });
      },
    },
    measureInputUsage: {
      value(this: unknown, input: unknown, options?: unknown) {
        return rejecting(() => {
          const state = stateOf(this);
          return state.scope.run(signalOf(options), (signal) => channel.json(spec.route, 'measure', bodyOf(state, input, options), signal).then((answer) => (answer as { tokens: number }).tokens));
        });
      },
    },
    inputQuota: { get: function (this: unknown) { return stateOf(this).inputQuota; } },
    destroy: {
      value(this: unknown) {
        stateOf(this).scope.destroy();
      },
    },
  };
  if (spec.streaming) {
    methods[spec.streaming] = {
      value(this: unknown, input: unknown, options?: unknown) {
        const state = stateOf(this);
        return state.scope.stream(signalOf(options), (signal, enqueue) => {
          if (isBlank(input)) return Promise.resolve();
          return channel.events(spec.route, spec.verb, { ...bodyOf(state, input, options), stream: true }, signal, (event) => {
            const text = (event.data as { text?: unknown }).text;
            if (event.event === 'chunk' && typeof text === 'string' && text !== '') enqueue(text);
          });
        });
      },
    };
  }
  for (const [key, fallback] of Object.entries(spec.attributes)) {
    methods[key] = { get: function (this: unknown) { return attributeOf(stateOf(this).options, key, fallback); } };
  }
  for (const descriptor of Object.values(methods)) {
    descriptor.configurable = true;
    descriptor.enumerable = true;
    if ('value' in descriptor) descriptor.writable = true;
  }
  Object.defineProperties(Api.prototype, methods);
  Object.defineProperty(Api, 'name', { value: spec.name });
  Object.defineProperty(Api.prototype, Symbol.toStringTag, { value: spec.name, configurable: true });
  return Api;
}
