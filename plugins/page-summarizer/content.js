// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Page Summarizer, in the page: a "Summarize" button and menu command in the AiPlugs dock that
// summarize the page's text with the web platform's standard `Summarizer` (the Summarizer API),
// streaming the summary into a dock panel. AiPlugs provides that API in every browser, answered
// by the local language model the gateway runs on this machine (or by the cloud server the user
// set for it): this plugin has no backend, no model and no cloud settings of its own.
//
// It shows its UI only where `Summarizer.availability()` says it can work. When the model is
// "downloadable", the user's click starts the download (the API allows that only in answer to a
// user gesture) and the panel shows the monitor's downloadprogress events.
(() => {
  const PLUGIN = 'page-summarizer';
  /** Enough text for a summary; the model's input quota may cut it further. */
  const MAX_CHARS = 12000;
  /** The summary we ask for: the spec's options, the same for availability() and create(). */
  const OPTIONS = /** @type {const} */ ({ type: 'key-points', format: 'plain-text', length: 'medium' });

  // No Summarizer API here (an insecure page, an old browser, Web AI switched off): nothing to show.
  if (typeof Summarizer === 'undefined') return;

  /** The page's readable text: the main content when the page marks it, else the whole body. */
  function pageText() {
    const main = document.querySelector('main, article, [role="main"]') ?? document.body;
    const text = (/** @type {HTMLElement} */ (main)?.innerText ?? '').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim();
    return text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text;
  }

  /** @type {AiPlugsDockItem | null} */
  let panel = null;
  const HEADINGS = { downloading: 'Summary (downloading the model…)', streaming: 'Summary (streaming…)', done: 'Summary', error: 'Summary failed' };
  /** The summary panel in the AiPlugs dock, opened (again) with this state. @param {keyof HEADINGS} state @param {string} text */
  function show(state, text) {
    const fields = { label: HEADINGS[state], text, tone: /** @type {AiPlugsDockTone} */ (state === 'error' ? 'error' : state === 'done' ? 'normal' : 'busy') };
    if (panel && !panel.removed) panel.update(fields);
    else panel = window.AiPlugs.ui.panel(PLUGIN, fields);
  }

  /** What to tell the user for each way the API can fail (the specs' DOMException names). @param {unknown} error */
  function explain(error) {
    const failure = /** @type {DOMException} */ (error);
    switch (failure?.name) {
      case 'NotAllowedError':
        return `The AI model cannot be used or downloaded from this page: ${failure.message}. Download it from the AiPlugs dashboard or with "aiplugs models pull webai:llm".`;
      case 'NotSupportedError':
        return `This page cannot be summarized here: ${failure.message}.`;
      case 'QuotaExceededError':
        return `Too much at once: ${failure.message}.`;
      default:
        return `Summarizing failed (${failure?.name ?? 'Error'}): ${failure?.message ?? String(error)}`;
    }
  }

  /** @type {Summarizer | null} */
  let summarizer = null;
  /** Whether availability() said the model still has to come (the monitor then reports a real download). */
  let mustDownload = false;
  /** The summarizer, created on first use; a download's progress shows in the panel. */
  async function ready() {
    /** @type {CreateMonitorCallback} */
    const monitor = (target) =>
      target.addEventListener('downloadprogress', (event) => {
        const { loaded } = /** @type {ProgressEvent} */ (event);
        show('downloading', `Downloading the local AI model (once for every site): ${Math.round(loaded * 100)}%`);
      });
    // An available model also reports 0 and 1 (the specs' rule): no "downloading" for that.
    summarizer ??= await Summarizer.create({ ...OPTIONS, ...(mustDownload ? { monitor } : {}) });
    return summarizer;
  }

  /**
   * The text cut to what the model takes at once (`inputQuota`), measured with
   * `measureInputUsage()` rather than guessed from characters.
   * @param {Summarizer} model @param {string} text @param {string} context
   */
  async function fitted(model, text, context) {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const usage = await model.measureInputUsage(text, { context });
      if (usage <= model.inputQuota) return text;
      text = text.slice(0, Math.floor((text.length * model.inputQuota * 0.9) / usage));
    }
    return text;
  }

  let running = false;
  async function summarizePage() {
    if (running) return;
    const text = pageText();
    if (!text) {
      show('error', 'This page has no text to summarize.');
      return;
    }
    running = true;
    button.update({ disabled: true });
    show('streaming', 'Preparing the summary…');
    try {
      const model = await ready();
      const context = `The page "${document.title}" at ${location.href}`;
      const input = await fitted(model, text, context);
      show('streaming', `Summarizing ${input.length.toLocaleString()} characters…`);
      let summary = '';
      // Each chunk is the next piece of the summary, shown as soon as the model writes it.
      const reader = model.summarizeStreaming(input, { context }).getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        summary += next.value;
        show('streaming', summary);
      }
      show('done', summary.trim() || '(the model returned an empty summary)');
    } catch (error) {
      show('error', explain(error));
    } finally {
      running = false;
      if (!button.removed) button.update({ disabled: false });
    }
  }

  /** @type {AiPlugsDockItem} */
  let button;
  async function start() {
    const availability = await Summarizer.availability(OPTIONS);
    if (availability === 'unavailable' || stopped) return;
    mustDownload = availability !== 'available';
    const title = availability === 'available' ? 'Summarize this page with the local AI model' : 'Summarize this page (downloads the local AI model first, once)';
    button = window.AiPlugs.ui.button(PLUGIN, { label: 'Summarize', title, onClick: summarizePage });
    window.AiPlugs.ui.menuCommand(PLUGIN, 'Summarize this page', summarizePage);
  }

  let stopped = false;
  // A new SPA page is a new text: the old summary would be about the wrong page.
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    if (!running && panel) panel.remove();
  });
  // The runtime removes the dock entries itself when the plugin stops.
  window.AiPlugs.onStop(PLUGIN, () => {
    stopped = true;
    stopNavigate();
    summarizer?.destroy();
  });
  void start();
})();
