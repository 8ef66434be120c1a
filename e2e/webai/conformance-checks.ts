/**
 * The Web AI conformance checks that run INSIDE a page: adapted from the specs' IDL and
 * algorithms (webmachinelearning/writing-assistance-apis, translation-api, prompt-api) — shapes,
 * argument validation, availability states, abort at every stage, download progress, streaming
 * chunks, destroy, quota errors.
 *
 * `webAiConformance` is one self-contained function (no imports, no outer variables) so that any
 * driver can ship it into a page: Playwright's or puppeteer-core's `page.evaluate(webAiConformance,
 * params)` (Chromium here, Firefox over WebDriver BiDi in the Firefox runner). It never throws:
 * it resolves to one result per check, and the runner asserts that none failed.
 */

export type ConformancePhase = 'shapes' | 'download' | 'session' | 'native-available';

export interface ConformanceParams {
  phase: ConformancePhase;
  /** Globals whose native version answers in this browser (their checks are the browser's business). */
  nativeAnswers?: string[];
  /** `shapes`: the LLM is not downloaded yet (availability "downloadable"). */
  llmDownloadable?: boolean;
  /** `session`: characters that are certain to exceed the input quota. */
  overQuotaChars?: number;
}

export interface ConformanceResult {
  name: string;
  ok: boolean;
  detail?: string;
}

export async function webAiConformance(params: ConformanceParams): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  const w = window as unknown as Record<string, any>;
  const skip = new Set(params.nativeAnswers ?? []);
  const STATES = ['unavailable', 'downloadable', 'downloading', 'available'];
  const API_METHODS: Record<string, string[]> = {
    Summarizer: ['summarize', 'summarizeStreaming', 'measureInputUsage', 'destroy'],
    Writer: ['write', 'writeStreaming', 'measureInputUsage', 'destroy'],
    Rewriter: ['rewrite', 'rewriteStreaming', 'measureInputUsage', 'destroy'],
    Proofreader: ['proofread', 'measureInputUsage', 'destroy'],
    Translator: ['translate', 'translateStreaming', 'measureInputUsage', 'destroy'],
    LanguageDetector: ['detect', 'measureInputUsage', 'destroy'],
    LanguageModel: ['prompt', 'promptStreaming', 'append', 'measureInputUsage', 'clone', 'destroy'],
  };
  const CREATE_OPTIONS: Record<string, unknown> = { Translator: { sourceLanguage: 'en', targetLanguage: 'fr' } };
  const ours = Object.keys(API_METHODS).filter((name) => !skip.has(name));

  const check = async (name: string, body: () => Promise<void> | void) => {
    try {
      await body();
      results.push({ name, ok: true });
    } catch (error) {
      const failure = error as { name?: string; message?: string };
      results.push({ name, ok: false, detail: `${failure?.name ?? 'Error'}: ${failure?.message ?? String(error)}` });
    }
  };
  const assert = (condition: unknown, message: string) => {
    if (!condition) throw new Error(message);
  };
  /** Resolves to the rejection of `promise` (fails if it fulfils). */
  const rejection = async (promise: Promise<unknown>): Promise<any> => {
    try {
      const value = await promise;
      throw Object.assign(new Error(`expected a rejection, got ${JSON.stringify(value)}`), { name: 'NoRejection' });
    } catch (error) {
      if ((error as Error).name === 'NoRejection') throw error;
      return error;
    }
  };
  const expectError = async (promise: Promise<unknown>, name: string, ctor?: any) => {
    const error = await rejection(promise);
    assert(error && error.name === name, `expected ${name}, got ${error?.name}: ${error?.message}`);
    if (ctor) assert(error instanceof ctor, `expected an instance of ${ctor.name}`);
    return error;
  };
  const readAll = async (stream: ReadableStream<string>) => {
    const reader = stream.getReader();
    const chunks: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return chunks;
      chunks.push(value);
    }
  };

  if (params.phase === 'shapes') {
    for (const name of ours) {
      await check(`${name}: a global class with static availability() and create()`, () => {
        const api = w[name];
        assert(typeof api === 'function', `${name} is ${typeof api}`);
        assert(typeof api.availability === 'function' && typeof api.create === 'function', 'static methods missing');
        const descriptor = Object.getOwnPropertyDescriptor(window, name);
        assert(descriptor && descriptor.writable && descriptor.configurable && !descriptor.enumerable, 'window property shape');
      });
      await check(`${name}: the constructor is not callable by pages (TypeError)`, () => {
        let thrown: unknown = null;
        try {
          new w[name]();
        } catch (error) {
          thrown = error;
        }
        assert(thrown instanceof TypeError, `new ${name}() gave ${String(thrown)}`);
      });
      await check(`${name}: the prototype has the spec's methods`, () => {
        for (const method of API_METHODS[name]!) assert(typeof w[name].prototype[method] === 'function', `${name}.prototype.${method} missing`);
        assert('inputQuota' in w[name].prototype, 'inputQuota missing');
      });
      await check(`${name}: availability() resolves to an Availability`, async () => {
        const answer = await w[name].availability(CREATE_OPTIONS[name] ?? {});
        assert(STATES.includes(answer), `got ${answer}`);
      });
      await check(`${name}: create() with an aborted signal rejects with the signal's reason`, async () => {
        const controller = new AbortController();
        const reason = new Error('stop before create');
        controller.abort(reason);
        const error = await rejection(w[name].create({ ...(CREATE_OPTIONS[name] as object), signal: controller.signal }));
        assert(error === reason, `rejected with ${String(error)}`);
      });
      await check(`${name}: create() with a monitor that is not a function is a TypeError`, async () => {
        await expectError(w[name].create({ ...(CREATE_OPTIONS[name] as object), monitor: 42 }), 'TypeError', TypeError);
      });
    }
    const enumChecks: Array<[string, object]> = [
      ['Summarizer', { type: 'not-a-type' }],
      ['Summarizer', { format: 'html' }],
      ['Writer', { tone: 'angry' }],
      ['Rewriter', { length: 'huge' }],
    ];
    for (const [name, options] of enumChecks) {
      if (skip.has(name)) continue;
      await check(`${name}.availability(${JSON.stringify(options)}) rejects with a TypeError (bad enum value)`, async () => {
        await expectError(w[name].availability(options), 'TypeError', TypeError);
      });
    }
    if (!skip.has('Translator')) {
      await check('Translator.availability({}) rejects with a TypeError (sourceLanguage, targetLanguage are required)', async () => {
        await expectError(w.Translator.availability({}), 'TypeError', TypeError);
      });
      await check('Translator.availability() of a language the model does not know is "unavailable"', async () => {
        assert((await w.Translator.availability({ sourceLanguage: 'en', targetLanguage: 'tlh' })) === 'unavailable', 'not unavailable');
      });
    }
    if (!skip.has('LanguageModel')) {
      await check('LanguageModel.availability() of image input is "unavailable" (text only here)', async () => {
        assert((await w.LanguageModel.availability({ expectedInputs: [{ type: 'image' }] })) === 'unavailable', 'not unavailable');
      });
      await check('LanguageModel.create() of unavailable options rejects with NotSupportedError', async () => {
        await expectError(w.LanguageModel.create({ expectedInputs: [{ type: 'audio' }] }), 'NotSupportedError', DOMException);
      });
      if (params.llmDownloadable) {
        await check('LanguageModel.availability() is "downloadable" before the model is downloaded', async () => {
          const answer = await w.LanguageModel.availability();
          assert(answer === 'downloadable', `got ${answer}`);
        });
      }
    }
    if (!skip.has('Summarizer')) {
      await check('Summarizer.availability() of an output language the model does not know is "unavailable"', async () => {
        assert((await w.Summarizer.availability({ outputLanguage: 'tlh' })) === 'unavailable', 'not unavailable');
      });
    }
  }

  if (params.phase === 'download') {
    await check('create() aborted during the download rejects with the reason', async () => {
      const controller = new AbortController();
      const reason = new DOMException('user cancelled the download', 'AbortError');
      const seen: number[] = [];
      const error = await rejection(
        w.LanguageModel.create({
          signal: controller.signal,
          monitor: (monitor: EventTarget) =>
            monitor.addEventListener('downloadprogress', (event) => {
              seen.push((event as ProgressEvent).loaded);
              if ((event as ProgressEvent).loaded > 0) controller.abort(reason);
            }),
        }),
      );
      assert(error === reason, `rejected with ${String(error)} after progress ${seen.join(', ')}`);
    });
    await check('create() reports downloadprogress from 0 to 1 on its monitor, then resolves', async () => {
      const loaded: number[] = [];
      let viaHandler = 0;
      let monitorSeen: any = null;
      const session = await w.LanguageModel.create({
        monitor: (monitor: any) => {
          monitorSeen = monitor;
          assert(monitor instanceof EventTarget, 'the monitor is an EventTarget');
          monitor.ondownloadprogress = () => {
            viaHandler += 1;
          };
          monitor.addEventListener('downloadprogress', (event: ProgressEvent) => {
            assert(event instanceof ProgressEvent, 'a ProgressEvent');
            assert(event.total === 1, `total ${event.total}`);
            loaded.push(event.loaded);
          });
        },
      });
      assert(monitorSeen !== null, 'the monitor callback ran');
      assert(loaded[0] === 0 && loaded.at(-1) === 1, `progress ${loaded.join(', ')}`);
      assert(loaded.every((value, index) => index === 0 || value >= loaded[index - 1]!), `progress goes back: ${loaded.join(', ')}`);
      assert(viaHandler === loaded.length, 'ondownloadprogress sees every event');
      assert(session instanceof w.LanguageModel, 'resolves to a LanguageModel');
      session.destroy();
    });
    await check('availability() is "available" once downloaded', async () => {
      const answer = await w.LanguageModel.availability();
      assert(answer === 'available', `got ${answer}`);
    });
  }

  if (params.phase === 'session') {
    if (!skip.has('LanguageDetector')) {
      await check('LanguageDetector.detect() ranks languages, most likely first', async () => {
        const detector = await w.LanguageDetector.create();
        const ranked = await detector.detect('Der schnelle braune Fuchs springt über den faulen Hund, und am Abend gehen wir zusammen in den Biergarten.');
        assert(Array.isArray(ranked) && ranked.length > 0, 'an array');
        assert(ranked[0].detectedLanguage === 'de', `top ${JSON.stringify(ranked[0])}`);
        for (let i = 1; i < ranked.length; i += 1) assert(ranked[i].confidence <= ranked[i - 1].confidence, 'ranked by confidence');
        assert(ranked.every((entry: any) => typeof entry.detectedLanguage === 'string' && entry.confidence >= 0 && entry.confidence <= 1), 'entries');
        assert(detector.expectedInputLanguages === null, 'expectedInputLanguages defaults to null');
        assert(Number.isFinite(detector.inputQuota) && detector.inputQuota > 0, 'inputQuota');
        detector.destroy();
      });
    }
    await check('LanguageModel: prompt() answers a string and counts inputUsage', async () => {
      const session = await w.LanguageModel.create({ initialPrompts: [{ role: 'system', content: 'You are terse.' }] });
      assert(session.topK > 0 && typeof session.temperature === 'number', 'topK and temperature');
      assert(Number.isFinite(session.inputQuota) && session.inputQuota > 0, `inputQuota ${session.inputQuota}`);
      const initial = session.inputUsage;
      assert(initial > 0, `the initial prompts count from create() on (inputUsage ${initial})`);
      const answer = await session.prompt('Say hello.');
      assert(typeof answer === 'string', 'a string');
      assert(session.inputUsage > initial, `inputUsage ${session.inputUsage}`);
      const measured = await session.measureInputUsage('How many tokens is this sentence?');
      assert(typeof measured === 'number' && measured > 0, `measureInputUsage ${measured}`);
      session.destroy();
    });
    await check('LanguageModel: create() refuses initialPrompts that are no conversation (SyntaxError) or over the quota (QuotaExceededError); prompt([]) is a SyntaxError', async () => {
      await expectError(w.LanguageModel.create({ initialPrompts: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'late' }] }), 'SyntaxError', DOMException);
      await expectError(w.LanguageModel.create({ initialPrompts: [{ role: 'user', content: 'hi', prefix: true }] }), 'SyntaxError', DOMException);
      await expectError(w.LanguageModel.create({ initialPrompts: [{ role: 'system', content: 'x '.repeat(2500) }] }), 'QuotaExceededError', DOMException);
      const session = await w.LanguageModel.create();
      await expectError(session.prompt([]), 'SyntaxError', DOMException);
      await expectError(session.prompt([{ role: 'user', content: 'hi', prefix: true }]), 'SyntaxError', DOMException);
      session.destroy();
    });
    await check('LanguageModel: promptStreaming() is a ReadableStream of string chunks', async () => {
      const session = await w.LanguageModel.create();
      const stream = session.promptStreaming('Tell me a story about a page.');
      assert(stream instanceof ReadableStream, 'a ReadableStream');
      const chunks = await readAll(stream);
      assert(chunks.length > 0 && chunks.every((chunk) => typeof chunk === 'string'), `chunks ${JSON.stringify(chunks)}`);
      session.destroy();
    });
    await check('LanguageModel: aborting during a streaming prompt errors the stream with the reason', async () => {
      // The test model's answers end wherever it samples an end token: one may be complete, and the
      // stream closed, before the abort. Then there is nothing to abort, so another prompt is tried;
      // an abort that never errors a stream still fails every attempt.
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const session = await w.LanguageModel.create();
        const controller = new AbortController();
        const reason = new DOMException('enough', 'AbortError');
        const reader = session.promptStreaming(`Tell me a long story about the sea, number ${attempt + 1}.`, { signal: controller.signal }).getReader();
        const first = await reader.read();
        assert(!first.done, 'a first chunk');
        controller.abort(reason);
        const outcome = await (async () => {
          for (;;) if ((await reader.read()).done) return 'ended';
        })().catch((error: unknown) => error);
        session.destroy();
        if (outcome === reason) return;
        assert(outcome === 'ended', `errored with ${String(outcome)}, not the reason`);
        outcomes.push('ended before the abort');
      }
      throw new Error(`no stream was errored by the abort: ${outcomes.join(', ')}`);
    });
    await check('LanguageModel: prompt() with an aborted signal rejects with the reason, and the session still works', async () => {
      const session = await w.LanguageModel.create();
      const controller = new AbortController();
      controller.abort('no');
      assert((await rejection(session.prompt('hi', { signal: controller.signal }))) === 'no', 'the reason');
      assert(typeof (await session.prompt('hi')) === 'string', 'still answers');
      session.destroy();
    });
    await check('LanguageModel: append() and clone() keep the history', async () => {
      const session = await w.LanguageModel.create();
      await session.append([{ role: 'user', content: 'My name is Ada.' }]);
      const usage = session.inputUsage;
      assert(usage > 0, `append counts: ${usage}`);
      const copy = await session.clone();
      assert(copy instanceof w.LanguageModel && copy !== session, 'a new session');
      assert(copy.inputUsage === usage, 'the clone has the same usage');
      session.destroy();
      assert(typeof (await copy.prompt('What is my name?')) === 'string', 'the clone answers after the original is destroyed');
      copy.destroy();
    });
    await check('LanguageModel: a system message in prompt() is NotSupportedError', async () => {
      const session = await w.LanguageModel.create();
      await expectError(session.prompt([{ role: 'system', content: 'x' }]), 'NotSupportedError', DOMException);
      session.destroy();
    });
    await check('LanguageModel: destroy() aborts a prompt in flight (AbortError), later calls are InvalidStateError', async () => {
      const session = await w.LanguageModel.create();
      const running = session.prompt('Tell me a long story about the mountains.');
      session.destroy();
      await expectError(running, 'AbortError', DOMException);
      await expectError(session.prompt('again'), 'InvalidStateError', DOMException);
      await expectError(session.measureInputUsage('again'), 'InvalidStateError', DOMException);
      const stream = session.promptStreaming('again');
      await expectError(stream.getReader().read(), 'InvalidStateError', DOMException);
    });
    await check('language tags are canonicalized and deduplicated (EN-us and en-US are one en-US)', async () => {
      const summarizer = await w.Summarizer.create({ outputLanguage: 'EN', expectedInputLanguages: ['EN-us', 'en-US'] });
      const attributes = summarizer as unknown as { outputLanguage: string; expectedInputLanguages: string[] };
      assert(attributes.outputLanguage === 'en', `outputLanguage ${attributes.outputLanguage}`);
      assert(JSON.stringify(attributes.expectedInputLanguages) === '["en-US"]', `expectedInputLanguages ${JSON.stringify(attributes.expectedInputLanguages)}`);
      summarizer.destroy();
    });
    await check("create()'s signal, aborted after create, destroys the object: a call in flight rejects with its reason, later calls are InvalidStateError (Summarizer and LanguageModel)", async () => {
      for (const api of [w.Summarizer, w.LanguageModel] as unknown as Array<{ create(options: unknown): Promise<Record<string, (input: string) => Promise<unknown>>> }>) {
        const controller = new AbortController();
        const object = await api.create({ signal: controller.signal });
        const call = 'summarize' in object ? 'summarize' : 'prompt';
        const running = object[call]!('Tell me a long story about the mountains and the sea.');
        controller.abort('torn down');
        let reason: unknown = null;
        await running.then(
          () => undefined,
          (error: unknown) => (reason = error),
        );
        assert(reason === 'torn down', `the call in flight rejected with ${String(reason)}`);
        await expectError(object[call]!('again'), 'InvalidStateError', DOMException);
      }
    });
    await check('LanguageModel: an input over the quota in tokens is QuotaExceededError with its quota and what it requested, where the browser has the class', async () => {
      const session = await w.LanguageModel.create();
      const error = (await expectError(session.prompt('x '.repeat(2500)), 'QuotaExceededError', DOMException)) as DOMException & { quota?: number; requested?: number };
      if (typeof (globalThis as { QuotaExceededError?: unknown }).QuotaExceededError === 'function') {
        assert(error.quota === session.inputQuota, `quota ${error.quota}, inputQuota ${session.inputQuota}`);
        assert(typeof error.requested === 'number' && error.requested > session.inputQuota, `requested ${error.requested}`);
      }
      session.destroy();
    });
    if (params.overQuotaChars) {
      await check('LanguageModel: an input over the quota is QuotaExceededError', async () => {
        const session = await w.LanguageModel.create();
        await expectError(session.prompt('word '.repeat(Math.ceil(params.overQuotaChars! / 5))), 'QuotaExceededError', DOMException);
        session.destroy();
      });
    }
    if (!skip.has('Summarizer')) {
      await check('Summarizer: attributes default as in the spec; summarize() and summarizeStreaming() answer', async () => {
        const summarizer = await w.Summarizer.create({ type: 'tldr', sharedContext: 'A test page.' });
        assert(summarizer.type === 'tldr' && summarizer.format === 'markdown' && summarizer.length === 'short', 'enum attributes');
        assert(summarizer.sharedContext === 'A test page.' && summarizer.outputLanguage === null && summarizer.expectedInputLanguages === null, 'other attributes');
        assert(typeof (await summarizer.summarize('The tiny model reads this text about a page and the world.', { context: 'tests' })) === 'string', 'summarize');
        assert((await summarizer.summarize('   ')) === '', 'a blank input summarizes to ""');
        const chunks = await readAll(summarizer.summarizeStreaming('The tiny model reads this text about a page and the world.'));
        assert(chunks.every((chunk) => typeof chunk === 'string'), 'string chunks');
        assert((await summarizer.measureInputUsage('Some text.')) > 0, 'measureInputUsage');
        summarizer.destroy();
        await expectError(summarizer.summarize('x'), 'InvalidStateError', DOMException);
      });
    }
    for (const [name, method, options] of [
      ['Writer', 'write', { tone: 'formal' }],
      ['Rewriter', 'rewrite', { length: 'shorter' }],
      ['Translator', 'translate', { sourceLanguage: 'en', targetLanguage: 'de' }],
    ] as const) {
      if (skip.has(name)) continue;
      await check(`${name}: ${method}() answers a string; attributes reflect the options`, async () => {
        const instance = await w[name].create(options);
        for (const [key, value] of Object.entries(options)) assert(instance[key] === value, `${key} is ${instance[key]}`);
        assert(typeof (await instance[method]('A short sentence about the weather.')) === 'string', method);
        instance.destroy();
      });
    }
    if (!skip.has('Proofreader')) {
      await check('Proofreader: proofread() resolves to {correctedInput, corrections}', async () => {
        const proofreader = await w.Proofreader.create({ includeCorrectionTypes: true });
        assert(proofreader.includeCorrectionTypes === true && proofreader.includeCorrectionExplanations === false, 'attributes');
        const result = await proofreader.proofread('This are a test.');
        assert(typeof result.correctedInput === 'string' && Array.isArray(result.corrections), JSON.stringify(result));
        proofreader.destroy();
      });
      await check('Proofreader: correction explanations are not available here ("unavailable")', async () => {
        assert((await w.Proofreader.availability({ includeCorrectionExplanations: true })) === 'unavailable', 'not unavailable');
      });
    }
  }

  if (params.phase === 'native-available') {
    for (const name of Object.keys(API_METHODS)) {
      await check(`${name}: the browser's available API answers, not AiPlugs`, async () => {
        assert((await w[name].availability(CREATE_OPTIONS[name] ?? {})) === 'available', 'the native availability');
        const instance = await w[name].create(CREATE_OPTIONS[name] ?? {});
        assert(instance && instance.nativeMarker === name, `create() gave ${String(instance)}`);
      });
    }
  }
  return results;
}
