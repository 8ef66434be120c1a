/**
 * Init scripts (plain JavaScript source, run before any page script and before the AiPlugs
 * runtime) that put a browser in the situations the Web AI conformance runs in. Shared with the
 * Firefox runner (puppeteer-core: `page.evaluateOnNewDocument(script)`).
 */

export const WEB_AI_GLOBALS = ['LanguageDetector', 'Translator', 'Summarizer', 'Writer', 'Rewriter', 'Proofreader', 'LanguageModel'];

/** (a) A browser without the APIs: the native globals are deleted. */
export const REMOVE_NATIVE = `for (const name of ${JSON.stringify(WEB_AI_GLOBALS)}) delete window[name];`;

/**
 * (c) A browser whose own APIs are available: each global answers "available", and create()
 * resolves to an object marked with the API's name (what the checks look for).
 */
export const FAKE_AVAILABLE_NATIVE = `for (const name of ${JSON.stringify(WEB_AI_GLOBALS)}) {
  const api = class { constructor() { throw new TypeError('Illegal constructor'); } };
  api.availability = async () => 'available';
  api.create = async () => Object.freeze({ nativeMarker: name });
  Object.defineProperty(window, name, { value: api, writable: true, configurable: true, enumerable: false });
}`;

/**
 * A page script that calls `LanguageModel.create()` on load, with no user gesture, and keeps how
 * it ended in `window.__createWithoutGesture` (drivers' evaluate calls may count as a gesture, so
 * the check runs in the page's own script).
 */
export const CREATE_WITHOUT_GESTURE = `window.__createWithoutGesture = LanguageModel.create().then(
  (session) => { session.destroy(); return 'created'; },
  (error) => error.name
);`;
