/**
 * Types for `window.AiPlugs`, the page runtime AiPlugs injects before any plugin content script.
 *
 * Use them from a content script:
 * - plain JavaScript: start the file with `// @ts-check` and
 *   `/// <reference path="../../types/aiplugs-page.d.ts" />` (path relative to the script);
 * - TypeScript: add this file to your tsconfig's `include` (or `files`).
 *
 * @example
 *   const answer = await window.AiPlugs.infer<{ results: string[] }>('my-plugin', { text: 'Hallo Welt' });
 *   const stop = window.AiPlugs.onNavigate(({ to }) => console.log('SPA navigation to', to));
 *
 * The contract is docs/PLUGINS.md, "Page runtime API". The one source of these types is
 * gateway/src/runtime/page/public-api.ts: the page runtime is type-checked against it, and
 * types/aiplugs-page.d.ts is its declaration output (`npm run types`).
 */
export {};

declare global {
  /** Where inference runs: the plugin's local backend or the configured cloud / cluster server. */
  type AiPlugsMode = 'local' | 'cloud';

  interface AiPlugsInferOptions {
    /** The mode this call expects (`local` or `cloud`); it must be the one the user set for the plugin (else `mode_not_allowed`). Pages cannot change where a plugin runs. */
    mode?: AiPlugsMode;
    /** Cancels the call; the promise rejects with the signal's reason. */
    signal?: AbortSignal;
  }

  /**
   * What `infer()` rejects with when the gateway answers with an error. `code` is the gateway's
   * error code, e.g. `plugin_not_found`, `plugin_disabled`, `backend_error`, `worker_busy`,
   * `models_unavailable`, `cloud_not_configured`, `cloud_unreachable`.
   */
  interface AiPlugsError extends Error {
    name: 'AiPlugsError';
    code: string;
    /** The HTTP status of the gateway's answer (0 when there was none). */
    status: number;
  }

  /**
   * A plugin's model files as a page sees them, summed over all of them: `missing` until the
   * first use fetches them, `downloading` while that runs, `ready` once all are present, `failed`
   * after a download failed (the AiPlugs dashboard says why). `totalBytes` is null while a size is unknown.
   */
  interface AiPlugsModelStatus {
    state: 'ready' | 'downloading' | 'missing' | 'failed';
    receivedBytes: number;
    totalBytes: number | null;
  }

  /** The detail of an `aiplugs:navigate` event: one same-document URL change. */
  interface AiPlugsNavigation {
    from: string;
    to: string;
    /**
     * `pushState` / `replaceState`: the page called the history API; `popstate`: back or forward;
     * `hashchange`: only the fragment moved (`location.hash`, a link to `#…`); `navigation`: any
     * other (the Navigation API's `navigate()` with `intercept`).
     */
    kind: 'pushState' | 'replaceState' | 'popstate' | 'hashchange' | 'navigation';
  }

  interface AiPlugsConnectionEvents {
    open: undefined;
    /** A message from the gateway: parsed JSON when it was JSON, else the text. */
    message: unknown;
    /** The socket closed; it reconnects by itself unless `close()` was called or the server refused. */
    close: { code: number; reason: string };
  }

  /** A live WebSocket to the plugin through the gateway, reconnecting with backoff. */
  interface AiPlugsConnection {
    /** The underlying event target; events are `CustomEvent`s whose `detail` is the payload. */
    readonly events: EventTarget;
    /** Listens to one event type; returns the function that stops listening. */
    on<K extends keyof AiPlugsConnectionEvents>(type: K, callback: (detail: AiPlugsConnectionEvents[K]) => void): () => void;
    /** Sends a message (objects as JSON); queued while (re)connecting. */
    send(message: unknown): void;
    /** Closes for good: no reconnect. */
    close(): void;
  }

  interface AiPlugsStopInfo {
    id: string;
    url: string;
  }

  /** How a dock entry looks: `busy` while work runs, `error` after it failed. */
  type AiPlugsDockTone = 'normal' | 'busy' | 'error';

  /** What `update` may change on a dock entry. Labels and text are shown as plain text, never markup. */
  interface AiPlugsDockFields {
    /** A button's or badge's text, a panel's heading (at most 80 characters). */
    label?: string;
    /** The tooltip (at most 300 characters); the dock adds the plugin's id to it. */
    title?: string;
    /** A panel's body, line breaks kept (at most 20,000 characters). */
    text?: string;
    tone?: AiPlugsDockTone;
    /** Buttons: greyed out and not clickable. */
    disabled?: boolean;
  }

  interface AiPlugsDockButtonOptions extends AiPlugsDockFields {
    label: string;
    onClick: () => void;
  }

  interface AiPlugsDockBadgeOptions extends AiPlugsDockFields {
    label: string;
  }

  interface AiPlugsDockPanelOptions extends AiPlugsDockFields {
    label: string;
  }

  /** One entry in the dock, owned by the plugin that registered it. */
  interface AiPlugsDockItem {
    /** Changes the entry (a closed panel opens again); does nothing once it was removed. */
    update(fields: AiPlugsDockFields): void;
    remove(): void;
    /** True after `remove()`, or once the runtime removed it because the plugin stopped. */
    readonly removed: boolean;
  }

  /**
   * The page dock: one collapsible strip in the bottom-right corner, owned by the runtime, that
   * holds every plugin's buttons, badges, panels and menu commands. It lives in a closed shadow
   * root the page's scripts and CSS cannot reach. Each call names the plugin the entry belongs to
   * (it must be running in this page, else it throws); when that plugin is switched off for the
   * page or everything is paused, its entries disappear, and when it starts again its scripts run
   * again and register them anew. At most 24 entries per plugin.
   */
  interface AiPlugsUi {
    /** A button in the dock's bar. */
    button(pluginId: string, options: AiPlugsDockButtonOptions): AiPlugsDockItem;
    /** A short status text in the dock's bar. */
    badge(pluginId: string, options: AiPlugsDockBadgeOptions): AiPlugsDockItem;
    /** A text panel above the bar (a result, a summary), with a Close button; `update` reopens it. */
    panel(pluginId: string, options: AiPlugsDockPanelOptions): AiPlugsDockItem;
    /**
     * A command in the dock's "⋯" menu and in the AiPlugs extension's popup for this tab (what
     * userscript managers offer as `GM_registerMenuCommand`). Returns the function that removes it.
     */
    menuCommand(pluginId: string, label: string, run: () => void): () => void;
  }

  interface AiPlugsPageRuntime {
    /** The runtime (gateway) version. */
    readonly runtime: string;
    /** `bridge`: injected by the proxy (same-origin /__aiplugs bridge); `extension`: by the companion extension. */
    readonly transport: 'bridge' | 'extension';
    /** The ids of the plugins running in this page. */
    readonly plugins: readonly string[];
    /**
     * Calls the plugin's backend with `payload` (any JSON) and resolves to its `run()` result.
     * A page may only call plugins injected into it, in the mode the user set for the plugin
     * (asking for another `mode` rejects with code `mode_not_allowed`). Rejects with an
     * {@link AiPlugsError} whose message is generic; the details are in the gateway's log.
     */
    infer<Result = unknown>(pluginId: string, payload?: unknown, options?: AiPlugsInferOptions): Promise<Result>;
    /**
     * The download progress of the plugin's model files (read-only, cheap: poll it every few
     * hundred milliseconds while a first `infer` waits). Only for plugins injected into this page;
     * rejects with an {@link AiPlugsError} otherwise.
     */
    modelStatus(pluginId: string, options?: { signal?: AbortSignal }): Promise<AiPlugsModelStatus>;
    /**
     * Opens a new WebSocket to the plugin: every call is its own connection (two in one page both
     * stay open), which reconnects by itself. Needs the proxy (transport `bridge`).
     */
    connect(pluginId: string): AiPlugsConnection;
    /** Calls back on every SPA URL change (pushState, replaceState, popstate, hashchange); returns the unsubscribe function. */
    onNavigate(callback: (navigation: AiPlugsNavigation) => void): () => void;
    /** Calls back when the plugin is switched off for this page: remove your UI and listeners. */
    onStop(pluginId: string, callback: (info: AiPlugsStopInfo) => void): () => void;
    /** The page dock: register buttons, badges, panels and menu commands there instead of floating your own widget. */
    readonly ui: AiPlugsUi;
    /**
     * False when the gateway cannot serve the plugin as configured (its mode is `cloud` and no
     * cloud server is set up) or it is not in this page: hide the plugin's UI then.
     */
    isAvailable(pluginId: string): boolean;
  }

  // The browser's built-in AI APIs (docs/WEBAI.md), as the Web Machine Learning group's specs
  // shape them: AiPlugs defines them where the browser has none or its own is "unavailable".

  type Availability = 'unavailable' | 'downloadable' | 'downloading' | 'available';

  /** The `monitor` of `create()`: `downloadprogress` events, `loaded` from 0 to 1 (`total` is 1). */
  interface CreateMonitor extends EventTarget {
    ondownloadprogress: ((event: ProgressEvent) => void) | null;
  }
  type CreateMonitorCallback = (monitor: CreateMonitor) => void;

  interface WebAiCreateOptions {
    signal?: AbortSignal;
    monitor?: CreateMonitorCallback;
  }
  interface WebAiCallOptions {
    signal?: AbortSignal;
  }
  interface WebAiWritingCallOptions extends WebAiCallOptions {
    context?: string;
  }

  /** What every built-in AI object has: its quota, a way to measure input, and `destroy()`. */
  interface WebAiModel {
    readonly inputQuota: number;
    measureInputUsage(input: string, options?: WebAiWritingCallOptions): Promise<number>;
    /** Aborts every call in flight (AbortError); later calls reject with InvalidStateError. */
    destroy(): void;
  }

  interface WritingCoreOptions {
    expectedInputLanguages?: string[];
    expectedContextLanguages?: string[];
    outputLanguage?: string;
  }
  interface WritingAttributes {
    readonly sharedContext: string;
    readonly expectedInputLanguages: readonly string[] | null;
    readonly expectedContextLanguages: readonly string[] | null;
    readonly outputLanguage: string | null;
  }

  interface SummarizerCreateCoreOptions extends WritingCoreOptions {
    type?: 'key-points' | 'tldr' | 'teaser' | 'headline';
    format?: 'markdown' | 'plain-text';
    length?: 'short' | 'medium' | 'long';
  }
  interface SummarizerCreateOptions extends SummarizerCreateCoreOptions, WebAiCreateOptions {
    sharedContext?: string;
  }
  interface Summarizer extends WebAiModel, WritingAttributes {
    readonly type: NonNullable<SummarizerCreateCoreOptions['type']>;
    readonly format: NonNullable<SummarizerCreateCoreOptions['format']>;
    readonly length: NonNullable<SummarizerCreateCoreOptions['length']>;
    summarize(input: string, options?: WebAiWritingCallOptions): Promise<string>;
    summarizeStreaming(input: string, options?: WebAiWritingCallOptions): ReadableStream<string>;
  }
  var Summarizer: {
    prototype: Summarizer;
    availability(options?: SummarizerCreateCoreOptions): Promise<Availability>;
    create(options?: SummarizerCreateOptions): Promise<Summarizer>;
  };

  interface WriterCreateCoreOptions extends WritingCoreOptions {
    tone?: 'formal' | 'neutral' | 'casual';
    format?: 'markdown' | 'plain-text';
    length?: 'short' | 'medium' | 'long';
  }
  interface WriterCreateOptions extends WriterCreateCoreOptions, WebAiCreateOptions {
    sharedContext?: string;
  }
  interface Writer extends WebAiModel, WritingAttributes {
    readonly tone: NonNullable<WriterCreateCoreOptions['tone']>;
    readonly format: NonNullable<WriterCreateCoreOptions['format']>;
    readonly length: NonNullable<WriterCreateCoreOptions['length']>;
    write(input: string, options?: WebAiWritingCallOptions): Promise<string>;
    writeStreaming(input: string, options?: WebAiWritingCallOptions): ReadableStream<string>;
  }
  var Writer: {
    prototype: Writer;
    availability(options?: WriterCreateCoreOptions): Promise<Availability>;
    create(options?: WriterCreateOptions): Promise<Writer>;
  };

  interface RewriterCreateCoreOptions extends WritingCoreOptions {
    tone?: 'as-is' | 'more-formal' | 'more-casual';
    format?: 'as-is' | 'markdown' | 'plain-text';
    length?: 'as-is' | 'shorter' | 'longer';
  }
  interface RewriterCreateOptions extends RewriterCreateCoreOptions, WebAiCreateOptions {
    sharedContext?: string;
  }
  interface Rewriter extends WebAiModel, WritingAttributes {
    readonly tone: NonNullable<RewriterCreateCoreOptions['tone']>;
    readonly format: NonNullable<RewriterCreateCoreOptions['format']>;
    readonly length: NonNullable<RewriterCreateCoreOptions['length']>;
    rewrite(input: string, options?: WebAiWritingCallOptions): Promise<string>;
    rewriteStreaming(input: string, options?: WebAiWritingCallOptions): ReadableStream<string>;
  }
  var Rewriter: {
    prototype: Rewriter;
    availability(options?: RewriterCreateCoreOptions): Promise<Availability>;
    create(options?: RewriterCreateOptions): Promise<Rewriter>;
  };

  interface ProofreaderCreateCoreOptions {
    includeCorrectionTypes?: boolean;
    includeCorrectionExplanations?: boolean;
    expectedInputLanguages?: string[];
    correctionExplanationLanguage?: string;
  }
  interface ProofreaderCreateOptions extends ProofreaderCreateCoreOptions, WebAiCreateOptions {}
  interface ProofreadCorrection {
    startIndex: number;
    endIndex: number;
    correction: string;
    types?: string[];
    explanation?: string;
  }
  interface ProofreadResult {
    correctedInput: string;
    corrections: ProofreadCorrection[];
  }
  interface Proofreader extends WebAiModel {
    readonly includeCorrectionTypes: boolean;
    readonly includeCorrectionExplanations: boolean;
    readonly expectedInputLanguages: readonly string[] | null;
    readonly correctionExplanationLanguage: string | null;
    proofread(input: string, options?: WebAiCallOptions): Promise<ProofreadResult>;
  }
  var Proofreader: {
    prototype: Proofreader;
    availability(options?: ProofreaderCreateCoreOptions): Promise<Availability>;
    create(options?: ProofreaderCreateOptions): Promise<Proofreader>;
  };

  interface TranslatorCreateCoreOptions {
    sourceLanguage: string;
    targetLanguage: string;
  }
  interface TranslatorCreateOptions extends TranslatorCreateCoreOptions, WebAiCreateOptions {}
  interface Translator extends WebAiModel {
    readonly sourceLanguage: string;
    readonly targetLanguage: string;
    translate(input: string, options?: WebAiCallOptions): Promise<string>;
    translateStreaming(input: string, options?: WebAiCallOptions): ReadableStream<string>;
  }
  var Translator: {
    prototype: Translator;
    availability(options: TranslatorCreateCoreOptions): Promise<Availability>;
    create(options: TranslatorCreateOptions): Promise<Translator>;
  };

  interface LanguageDetectorCreateCoreOptions {
    expectedInputLanguages?: string[];
  }
  interface LanguageDetectorCreateOptions extends LanguageDetectorCreateCoreOptions, WebAiCreateOptions {}
  interface LanguageDetectionResult {
    detectedLanguage: string;
    confidence: number;
  }
  interface LanguageDetector extends WebAiModel {
    readonly expectedInputLanguages: readonly string[] | null;
    /** Ranked by confidence, most likely first, ending in "und" (undetermined). */
    detect(input: string, options?: WebAiCallOptions): Promise<LanguageDetectionResult[]>;
  }
  var LanguageDetector: {
    prototype: LanguageDetector;
    availability(options?: LanguageDetectorCreateCoreOptions): Promise<Availability>;
    create(options?: LanguageDetectorCreateOptions): Promise<LanguageDetector>;
  };

  type LanguageModelMessageRole = 'system' | 'user' | 'assistant';
  interface LanguageModelMessageContent {
    type: 'text' | 'image' | 'audio';
    value: unknown;
  }
  interface LanguageModelMessage {
    role: LanguageModelMessageRole;
    content: string | LanguageModelMessageContent[];
    /** An assistant message the model continues. */
    prefix?: boolean;
  }
  type LanguageModelPrompt = string | LanguageModelMessage[];
  interface LanguageModelExpected {
    type: 'text' | 'image' | 'audio';
    languages?: string[];
  }
  interface LanguageModelCreateCoreOptions {
    topK?: number;
    temperature?: number;
    expectedInputs?: LanguageModelExpected[];
    expectedOutputs?: LanguageModelExpected[];
  }
  interface LanguageModelCreateOptions extends LanguageModelCreateCoreOptions, WebAiCreateOptions {
    initialPrompts?: LanguageModelMessage[];
  }
  interface LanguageModelPromptOptions extends WebAiCallOptions {
    /** A JSON Schema the answer must follow (a RegExp is NotSupportedError here). */
    responseConstraint?: object;
    omitResponseConstraintInput?: boolean;
  }
  interface LanguageModel extends EventTarget {
    readonly topK: number;
    readonly temperature: number;
    /** Tokens the session's history takes so far. */
    readonly inputUsage: number;
    readonly inputQuota: number;
    /** The newer names of `inputUsage` and `inputQuota`. */
    readonly contextUsage: number;
    readonly contextWindow: number;
    onquotaoverflow: ((event: Event) => void) | null;
    prompt(input: LanguageModelPrompt, options?: LanguageModelPromptOptions): Promise<string>;
    promptStreaming(input: LanguageModelPrompt, options?: LanguageModelPromptOptions): ReadableStream<string>;
    /** Adds to the history without answering. */
    append(input: LanguageModelPrompt, options?: WebAiCallOptions): Promise<undefined>;
    measureInputUsage(input: LanguageModelPrompt, options?: LanguageModelPromptOptions): Promise<number>;
    measureContextUsage(input: LanguageModelPrompt, options?: LanguageModelPromptOptions): Promise<number>;
    clone(options?: WebAiCallOptions): Promise<LanguageModel>;
    destroy(): void;
  }
  var LanguageModel: {
    prototype: LanguageModel;
    availability(options?: LanguageModelCreateCoreOptions): Promise<Availability>;
    create(options?: LanguageModelCreateOptions): Promise<LanguageModel>;
  };

  interface Window {
    /** The AiPlugs page runtime; frozen, present before any plugin content script runs. */
    readonly AiPlugs: AiPlugsPageRuntime;
    /** The gateway's API port (kept for older plugins; pages should call through `AiPlugs`). */
    readonly AIPLUGS_API_PORT: number;
  }

  interface WindowEventMap {
    'aiplugs:navigate': CustomEvent<AiPlugsNavigation>;
    'aiplugs:plugin-start': CustomEvent<AiPlugsStopInfo>;
    'aiplugs:plugin-stop': CustomEvent<AiPlugsStopInfo>;
  }
}
