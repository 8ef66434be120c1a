// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Page Summarizer, in the page: a "Summarize" button and menu command in the AiPlugs dock that
// send the page's text to the cloud / cluster model server the gateway relays to, and stream the
// summary into a dock panel. With no cloud server configured it shows nothing.
// This plugin has no local backend: its manifest says default_mode "cloud", and the gateway talks
// to the OpenAI-compatible server set by CLOUD_BASE_URL / SYSTEM_API_KEY (or config.json).
(() => {
  const PLUGIN = 'page-summarizer';
  /** Enough text for a summary, small enough for any model's context. */
  const MAX_CHARS = 12000;

  // Without a cloud server the gateway cannot serve this plugin: no button that could only fail.
  if (!window.AiPlugs.isAvailable(PLUGIN)) return;

  /** The page's readable text: the main content when the page marks it, else the whole body. */
  function pageText() {
    const main = document.querySelector('main, article, [role="main"]') ?? document.body;
    const text = (/** @type {HTMLElement} */ (main)?.innerText ?? '').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim();
    return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n[…]` : text;
  }

  /** @type {AiPlugsDockItem | null} */
  let panel = null;
  const HEADINGS = { streaming: 'Summary (streaming…)', done: 'Summary', error: 'Summary failed' };
  /** The summary panel in the AiPlugs dock, opened (again) with this state. @param {'streaming' | 'done' | 'error'} state @param {string} text */
  function show(state, text) {
    const fields = { label: HEADINGS[state], text, tone: /** @type {AiPlugsDockTone} */ (state === 'streaming' ? 'busy' : state === 'error' ? 'error' : 'normal') };
    if (panel && !panel.removed) panel.update(fields);
    else panel = window.AiPlugs.ui.panel(PLUGIN, fields);
  }

  /** What to tell the user for each way the call can fail. @param {AiPlugsError} error */
  function explain(error) {
    switch (error.code) {
      case 'cloud_not_configured':
        return 'No cloud model server is configured. Start the gateway with CLOUD_BASE_URL (an OpenAI-compatible server such as vLLM, Ollama or LocalAI) and SYSTEM_API_KEY if it needs one, or set cloud.base_url in config.json.';
      case 'cloud_unreachable':
        return `The cloud model server cannot be reached. ${error.message}`;
      case 'cloud_unauthorized':
        return `The cloud model server refused the API key. ${error.message}`;
      default:
        return `Summarizing failed: ${error.message}`;
    }
  }

  /**
   * Streams the summary over the plugin's WebSocket (AiPlugs.connect): the gateway relays each
   * piece of the model's answer as a `chunk` message as soon as the server produces it, then the
   * `result`. Where no socket can be had (the extension transport, an old gateway) it falls back
   * to one AiPlugs.infer call, and the panel fills in at the end.
   * @param {string} text @param {(partial: string) => void} onText @returns {Promise<string>}
   */
  async function summarize(text, onText) {
    const payload = { text: `Title: ${document.title}\nURL: ${location.href}\n\n${text}`, max_tokens: 400 };
    const streamed = window.AiPlugs.transport === 'bridge' ? await stream(payload, onText) : null;
    if (streamed !== null) return streamed;
    /** @type {{ text: string }} */
    const result = await window.AiPlugs.infer(PLUGIN, payload);
    return result.text;
  }

  /**
   * One streamed call; resolves to the final text, or to null when the socket closed before
   * anything arrived (then the caller falls back to infer).
   * @param {unknown} payload @param {(partial: string) => void} onText @returns {Promise<string | null>}
   */
  function stream(payload, onText) {
    return new Promise((resolve, reject) => {
      const connection = window.AiPlugs.connect(PLUGIN);
      const id = `summary-${Date.now()}`;
      let text = '';
      let settled = false;
      /** @param {() => void} action */
      const settle = (action) => {
        if (settled) return;
        settled = true;
        connection.close();
        action();
      };
      connection.send({ type: 'infer', id, payload, stream: true }); // queued until the socket is open
      connection.on('message', (message) => {
        const event = /** @type {StreamMessage} */ (message);
        if (!event || event.id !== id) return;
        if (event.type === 'chunk') {
          text += typeof event.data === 'string' ? event.data : '';
          onText(text);
        } else if (event.type === 'result') {
          settle(() => resolve(event.result?.text ?? text));
        } else if (event.type === 'error') {
          const failure = /** @type {AiPlugsError} */ (new Error(event.error?.message ?? 'Summarizing failed'));
          failure.name = 'AiPlugsError';
          failure.code = event.error?.code ?? 'error';
          failure.status = 0;
          settle(() => reject(failure));
        }
      });
      connection.on('close', () => settle(() => resolve(text ? text : null)));
    });
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
    show('streaming', `Sending ${text.length.toLocaleString()} characters to your cloud model…`);
    try {
      const final = await summarize(text, (partial) => show('streaming', partial));
      show('done', final || '(the model returned an empty answer)');
    } catch (error) {
      show('error', explain(/** @type {AiPlugsError} */ (error)));
    } finally {
      running = false;
      if (!button.removed) button.update({ disabled: false });
    }
  }

  const button = window.AiPlugs.ui.button(PLUGIN, { label: 'Summarize', title: 'Summarize this page with your cloud model', onClick: summarizePage });
  window.AiPlugs.ui.menuCommand(PLUGIN, 'Summarize this page', summarizePage);

  // A new SPA page is a new text: the old summary would be about the wrong page.
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    if (!running && panel) panel.remove();
  });
  // The runtime removes the dock entries itself when the plugin stops.
  window.AiPlugs.onStop(PLUGIN, stopNavigate);
})();

/** @typedef {{ type?: string, id?: string, data?: unknown, result?: { text?: string }, error?: { code?: string, message?: string } } | null} StreamMessage */
