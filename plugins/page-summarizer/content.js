// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Page Summarizer, in the page: a "Summarize" button (bottom right) that sends the page's text to
// the cloud / cluster model server the gateway relays to, and streams the summary into a panel.
// This plugin has no local backend: its manifest says default_mode "cloud", and the gateway talks
// to the OpenAI-compatible server set by CLOUD_BASE_URL / SYSTEM_API_KEY (or config.json).
(() => {
  const PLUGIN = 'page-summarizer';
  /** Enough text for a summary, small enough for any model's context. */
  const MAX_CHARS = 12000;

  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; }
    .dock { position: fixed; right: 8px; bottom: 40px; z-index: 2147483646; display: flex;
      flex-direction: column; align-items: flex-end; gap: 6px; font: 13px/1.45 system-ui, sans-serif; }
    button { font: 600 12px/1 system-ui, sans-serif; border: 0; border-radius: 6px; cursor: pointer;
      padding: 7px 10px; color: #fff; background: #7c3aed; box-shadow: 0 1px 4px rgba(0,0,0,.3); }
    button:hover { background: #6d28d9; }
    button:disabled { opacity: .6; cursor: progress; }
    .panel { width: min(420px, calc(100vw - 24px)); max-height: 50vh; overflow: auto; background: #fff; color: #0f172a;
      border: 1px solid #ddd6fe; border-radius: 10px; box-shadow: 0 6px 20px rgba(0,0,0,.2); padding: 10px 12px; }
    .panel[hidden] { display: none; }
    .head { display: flex; align-items: center; gap: 8px; color: #5b21b6; font-size: 11px; margin-bottom: 6px; }
    .head span { flex: 1; }
    .head button { background: #a78bfa; padding: 3px 6px; font-size: 11px; }
    .summary { white-space: pre-wrap; margin: 0; }
    .panel.error .summary { color: #b91c1c; }
    .hint { color: #64748b; font-size: 11px; margin-top: 6px; }
  `);

  const host = document.createElement('aiplugs-page-summarizer');
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [sheet];
  const dock = document.createElement('div');
  dock.className = 'dock';
  const panel = document.createElement('div');
  panel.className = 'panel';
  panel.hidden = true;
  panel.setAttribute('role', 'status');
  panel.setAttribute('aria-live', 'polite');
  const head = document.createElement('div');
  head.className = 'head';
  const title = document.createElement('span');
  title.textContent = 'Summary';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Close';
  head.append(title, close);
  const summary = document.createElement('p');
  summary.className = 'summary';
  const hint = document.createElement('div');
  hint.className = 'hint';
  panel.append(head, summary, hint);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'summarize';
  button.textContent = 'Summarize';
  button.title = 'Summarize this page with your cloud model (Page Summarizer)';
  dock.append(panel, button);
  root.append(dock);

  function attach() {
    if (!host.isConnected) (document.body ?? document.documentElement).append(host);
  }

  /** The page's readable text: the main content when the page marks it, else the whole body. */
  function pageText() {
    const main = document.querySelector('main, article, [role="main"]') ?? document.body;
    const text = (/** @type {HTMLElement} */ (main)?.innerText ?? '').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim();
    return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n[…]` : text;
  }

  /** @param {'streaming' | 'done' | 'error'} state @param {string} text @param {string} [note] */
  function show(state, text, note = '') {
    panel.hidden = false;
    panel.dataset.state = state;
    panel.classList.toggle('error', state === 'error');
    summary.textContent = text;
    hint.textContent = note;
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
  button.addEventListener('click', async () => {
    if (running) return;
    const text = pageText();
    if (!text) {
      show('error', 'This page has no text to summarize.');
      return;
    }
    running = true;
    button.disabled = true;
    show('streaming', 'Summarizing…', `Sending ${text.length.toLocaleString()} characters to your cloud model.`);
    try {
      const final = await summarize(text, (partial) => show('streaming', partial, 'Streaming from your cloud model…'));
      show('done', final || '(the model returned an empty answer)', '');
    } catch (error) {
      show('error', explain(/** @type {AiPlugsError} */ (error)));
    } finally {
      running = false;
      button.disabled = false;
    }
  });
  close.addEventListener('click', () => {
    panel.hidden = true;
  });

  // A new SPA page is a new text: the old summary would be about the wrong page.
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    attach();
    if (!running) panel.hidden = true;
  });
  window.AiPlugs.onStop?.(PLUGIN, () => {
    stopNavigate();
    host.remove();
  });
  attach();
})();

/** @typedef {{ type?: string, id?: string, data?: unknown, result?: { text?: string }, error?: { code?: string, message?: string } } | null} StreamMessage */
