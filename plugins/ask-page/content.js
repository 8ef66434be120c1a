// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Ask the Page: an "Ask…" button in the AiPlugs dock. It asks for a question, and the web
// platform's standard `LanguageModel` (the Prompt API) answers it about this page, streamed into a
// dock panel with `promptStreaming()`; a "Stop" button cancels the answer through an
// AbortController. AiPlugs provides the API in every browser on the local model the gateway runs:
// this plugin has no backend and no model of its own.
(() => {
  const PLUGIN = 'ask-page';
  /** The page text offered to the model before it is cut to the session's input quota. */
  const MAX_CHARS = 8000;
  const SYSTEM = 'You answer questions about the web page the user is reading, from its text. Be brief. If the text does not say, answer that the page does not say.';

  // No Prompt API here (an insecure page, an old browser, Web AI switched off): nothing to show.
  if (typeof LanguageModel === 'undefined') return;

  function pageText() {
    const main = document.querySelector('main, article, [role="main"]') ?? document.body;
    return (/** @type {HTMLElement} */ (main)?.innerText ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_CHARS);
  }

  /** @type {AiPlugsDockItem | null} */
  let panel = null;
  /** @param {string} label @param {string} text @param {AiPlugsDockTone} tone */
  function show(label, text, tone) {
    if (panel && !panel.removed) panel.update({ label, text, tone });
    else panel = window.AiPlugs.ui.panel(PLUGIN, { label, text, tone });
  }

  /** @type {LanguageModel | null} the session holding only the instructions; each question gets a clone */
  let base = null;
  /** Whether availability() said the model still has to come (an available one also reports 0 and 1). */
  let mustDownload = false;
  async function baseSession() {
    /** @type {CreateMonitorCallback} */
    const monitor = (target) =>
      target.addEventListener('downloadprogress', (event) => {
        show('Downloading the AI model…', `Once for every site: ${Math.round(/** @type {ProgressEvent} */ (event).loaded * 100)}%`, 'busy');
      });
    base ??= await LanguageModel.create({ initialPrompts: [{ role: 'system', content: SYSTEM }], ...(mustDownload ? { monitor } : {}) });
    return base;
  }

  /**
   * The prompt: as much of the page as fits what the session still takes (measured, not guessed),
   * then the question.
   * @param {LanguageModel} session @param {string} question
   */
  async function promptFor(session, question) {
    let page = pageText();
    const promptOf = () => `The page "${document.title}":\n${page}\n\nQuestion: ${question}`;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const room = session.inputQuota - session.inputUsage;
      const usage = await session.measureInputUsage(promptOf());
      if (usage <= room) break;
      page = page.slice(0, Math.max(0, Math.floor((page.length * room * 0.8) / usage)));
    }
    return promptOf();
  }

  /** @type {AbortController | null} the answer being written, if any */
  let answering = null;

  async function ask() {
    if (answering) return;
    // create() may download the model, which needs this click's user activation: start it before the dialog.
    const creating = baseSession();
    creating.catch(() => undefined); // reported below, once the user asked something
    const question = window.prompt('Ask about this page:', 'What is this page about?')?.trim();
    if (!question) return;
    const controller = new AbortController();
    answering = controller;
    askButton.update({ disabled: true });
    stopButton.update({ disabled: false });
    show(question, 'Thinking…', 'busy');
    let answer = '';
    /** @type {LanguageModel | null} */
    let session = null;
    try {
      session = await (await creating).clone({ signal: controller.signal });
      const reader = session.promptStreaming(await promptFor(session, question), { signal: controller.signal }).getReader();
      // Each chunk is the next piece of the answer; aborting errors the stream with the signal's reason.
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        answer += next.value;
        show(question, answer, 'busy');
      }
      show(question, answer.trim() || '(no answer)', 'normal');
    } catch (error) {
      const failure = /** @type {DOMException} */ (error);
      if (controller.signal.aborted) show(`${question} (stopped)`, answer || '(stopped before the first word)', 'normal');
      else show(question, `No answer (${failure?.name}): ${failure?.message}`, 'error');
    } finally {
      session?.destroy();
      answering = null;
      if (!askButton.removed) askButton.update({ disabled: false });
      if (!stopButton.removed) stopButton.update({ disabled: true });
    }
  }

  /** @type {AiPlugsDockItem} */
  let askButton;
  /** @type {AiPlugsDockItem} */
  let stopButton;
  let stopped = false;

  async function start() {
    const availability = await LanguageModel.availability();
    if (availability === 'unavailable' || stopped) return;
    mustDownload = availability !== 'available';
    const title = availability === 'available' ? 'Ask the local AI model about this page' : 'Ask the local AI model about this page (downloads it first, once)';
    askButton = window.AiPlugs.ui.button(PLUGIN, { label: 'Ask…', title, onClick: ask });
    stopButton = window.AiPlugs.ui.button(PLUGIN, { label: 'Stop', title: 'Stop the answer', disabled: true, onClick: () => answering?.abort(new DOMException('Stopped by the user', 'AbortError')) });
  }

  window.AiPlugs.onStop(PLUGIN, () => {
    stopped = true;
    answering?.abort();
    base?.destroy();
  });
  void start();
})();
