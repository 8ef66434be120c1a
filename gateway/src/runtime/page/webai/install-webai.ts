import type { PageWorld } from '../page-world.js';
import type { WebAiPageConfig } from '../runtime-config.js';
import { defineLanguageModel } from './language-model.js';
import { defineTaskApi } from './task-api.js';
import { TASK_APIS } from './task-apis.js';
import { createWebAiChannel } from './webai-channel.js';
import { captureWebAiEnv } from './webai-env.js';


interface WebAiClass {
  availability(options?: unknown): Promise<Availability>;
  create(options?: unknown): Promise<object>;
}

/**
 * Where the browser has its own API: AiPlugs' class, whose `availability()` and `create()` ask
 * the browser's first and use it whenever it is not "unavailable" for the options asked (its
 * objects, its answers), and answer themselves only where it is. Statics the browser has and
 * AiPlugs does not (e.g. `LanguageModel.params`) stay the browser's.
 */
function preferNative(ours: WebAiClass, native: WebAiClass): WebAiClass {
  const own = { availability: ours.availability.bind(ours), create: ours.create.bind(ours) };
  const nativeSays = (options: unknown) => Promise.resolve().then(() => native.availability(options)).catch(() => 'unavailable' as const);
  const statics: Record<string, PropertyDescriptor> = {
    availability: { value: (options?: unknown) => nativeSays(options).then((answer) => (answer !== 'unavailable' ? answer : own.availability(options))) },
    create: { value: (options?: unknown) => nativeSays(options).then((answer) => (answer !== 'unavailable' ? native.create(options) : own.create(options))) },
    [Symbol.hasInstance]: { value: (value: unknown) => Function.prototype[Symbol.hasInstance].call(ours, value) || Function.prototype[Symbol.hasInstance].call(native, value) },
  };
  for (const key of Object.getOwnPropertyNames(native)) {
    const value = (native as unknown as Record<string, unknown>)[key];
    if (!(key in statics) && !(key in ours) && typeof value === 'function') statics[key] = { value: (value as (...args: unknown[]) => unknown).bind(native) };
  }
  for (const descriptor of Object.values(statics)) {
    descriptor.writable = true;
    descriptor.configurable = true;
  }
  Object.defineProperties(ours, statics);
  return ours;
}

/**
 * Defines the browser's built-in AI globals (LanguageDetector, Translator, Summarizer, Writer,
 * Rewriter, Proofreader, LanguageModel) answered by the gateway: where the browser has none, and
 * where its own is "unavailable" for the options asked. A browser API that is available is left
 * to answer, unless the user chose AiPlugs over it. Secure contexts only, as the specs expose them.
 */
export function installWebAi(world: PageWorld, config: WebAiPageConfig): void {
  const w = world.w as unknown as Record<string, unknown> & { isSecureContext: boolean };
  if (!w.isSecureContext) return;
  const env = captureWebAiEnv(world);
  const channel = createWebAiChannel(env);
  const apis: Array<[string, WebAiClass]> = [...TASK_APIS.map((spec): [string, WebAiClass] => [spec.name, defineTaskApi(env, channel, spec)]), ['LanguageModel', defineLanguageModel(env, channel)]];
  for (const [name, ours] of apis) {
    const native = w[name];
    const value = typeof native === 'function' && !config.replaceNative ? preferNative(ours, native as unknown as WebAiClass) : ours;
    // As the browser defines its own: a writable, configurable, non-enumerable property of window.
    Object.defineProperty(w, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
