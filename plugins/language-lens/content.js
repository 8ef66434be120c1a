// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Language Lens, in the page: a small badge with the language of every paragraph, and a chip
// (bottom left) with the language of the current selection. The answers come from the plugin's
// local backend through window.AiPlugs.infer.
//
// Patterns worth copying for your own plugin:
// - every bit of UI lives in a shadow root, styled by a constructed style sheet: page CSS cannot
//   reach it, it cannot leak into the page, and it works under strict CSP and Trusted Types
//   (no inline <style>, no innerHTML);
// - SPA navigations (`aiplugs:navigate`) and DOM changes re-scan only what is new, and re-attach
//   the UI if the page's router threw it away;
// - AiPlugs.onStop tears everything down when the plugin is switched off for the page.
(() => {
  const PLUGIN = 'language-lens';
  const TAG = 'aiplugs-language-lens';
  const BADGE_TAG = 'aiplugs-lang-badge';
  /** Elements whose text is worth a badge, and the least text that identifies reliably. */
  const BLOCKS = 'p, li, blockquote, dd, dt, h1, h2, h3, h4, figcaption, td';
  const MIN_CHARS = 20;
  const MAX_PER_REQUEST = 100;
  /** A page with more paragraphs than this gets the first ones labelled: enough to see its languages. */
  const MAX_PARAGRAPHS = 2000;
  let claimed = 0;
  const DONE = 'aiplugsLang'; // data-aiplugs-lang on paragraphs we have labelled

  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; }
    .chip { position: fixed; left: 8px; bottom: 8px; z-index: 2147483646; max-width: 320px;
      font: 12px/1.4 system-ui, sans-serif; color: #f8fafc; background: #0f172a; opacity: .92;
      padding: 6px 10px; border-radius: 8px; box-shadow: 0 2px 8px rgba(0,0,0,.25); }
    .chip button { all: unset; cursor: pointer; margin-left: 8px; color: #93c5fd; }
    .chip .selection { display: block; margin-top: 2px; color: #fde68a; }
    .chip .selection:empty { display: none; }
    .error { color: #fca5a5; }
  `);
  const badgeSheet = new CSSStyleSheet();
  badgeSheet.replaceSync(`
    :host { all: initial; display: inline; }
    span { font: 600 10px/1 system-ui, sans-serif; color: #1e3a8a; background: #dbeafe;
      border-radius: 4px; padding: 1px 4px; margin-left: 4px; vertical-align: super; cursor: help; }
    span.unsure { color: #334155; background: #e2e8f0; font-style: italic; }
  `);

  // --- the chip ---------------------------------------------------------------------------------
  const host = document.createElement(TAG);
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [sheet];
  const chip = document.createElement('div');
  chip.className = 'chip';
  chip.setAttribute('part', 'chip');
  const summary = document.createElement('span');
  summary.className = 'summary';
  summary.textContent = 'Language Lens: looking…';
  const toggle = document.createElement('button');
  toggle.textContent = 'hide badges';
  const selectionLine = document.createElement('span');
  selectionLine.className = 'selection';
  chip.append(summary, toggle, selectionLine);
  root.append(chip);

  let badgesShown = true;
  toggle.addEventListener('click', () => {
    badgesShown = !badgesShown;
    toggle.textContent = badgesShown ? 'hide badges' : 'show badges';
    for (const badge of document.querySelectorAll(BADGE_TAG)) /** @type {HTMLElement} */ (badge).hidden = !badgesShown;
  });

  /** Puts the chip back if the page (an SPA router, say) removed it. */
  function attach() {
    if (!host.isConnected) (document.body ?? document.documentElement).append(host);
  }

  // --- paragraphs -------------------------------------------------------------------------------
  /** @type {Map<string, number>} language → paragraphs */
  const counts = new Map();

  function showCounts() {
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([lang, n]) => `${lang} ${n}`);
    summary.textContent = parts.length ? `Language Lens: ${parts.join(' · ')}` : 'Language Lens: no paragraphs';
    summary.classList.remove('error');
  }

  /** @param {Element} element */
  function ownText(element) {
    // Skip blocks that only wrap other blocks (a <li> holding a <p>): the inner one gets the badge.
    if (element.querySelector(BLOCKS)) return '';
    return (/** @type {HTMLElement} */ (element).innerText ?? element.textContent ?? '').replace(/\s+/g, ' ').trim();
  }

  /** @param {Element} element @param {LanguageResult} result */
  function label(element, result) {
    /** @type {HTMLElement & {dataset: DOMStringMap}} */ (element).dataset[DONE] = result.lang;
    const badgeHost = document.createElement(BADGE_TAG);
    badgeHost.hidden = !badgesShown;
    const shadow = badgeHost.attachShadow({ mode: 'open' });
    shadow.adoptedStyleSheets = [badgeSheet];
    const badge = document.createElement('span');
    badge.textContent = result.lang;
    badge.title = `${result.name}, ${Math.round(result.confidence * 100)}% (fastText lid.176)`;
    if (!result.confident) badge.className = 'unsure';
    shadow.append(badge);
    element.append(badgeHost);
    counts.set(result.lang, (counts.get(result.lang) ?? 0) + 1);
  }

  let scanning = false;
  let again = false;
  async function scan() {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    try {
      attach();
      const pending = [];
      for (const element of document.querySelectorAll(BLOCKS)) {
        if (claimed >= MAX_PARAGRAPHS) break;
        if (/** @type {HTMLElement} */ (element).dataset[DONE] !== undefined || element.closest(`${TAG}, ${BADGE_TAG}`)) continue;
        const text = ownText(element);
        /** @type {HTMLElement} */ (element).dataset[DONE] = ''; // claimed, whatever the answer
        if (text.length >= MIN_CHARS) {
          pending.push({ element, text });
          claimed += 1;
        }
      }
      for (let i = 0; i < pending.length; i += MAX_PER_REQUEST) {
        const batch = pending.slice(i, i + MAX_PER_REQUEST);
        if (counts.size === 0) summary.textContent = 'Language Lens: identifying (the first use loads the model)…';
        /** @type {LanguageAnswer} */
        const answer = await window.AiPlugs.infer(PLUGIN, { texts: batch.map((item) => item.text) });
        if (stopped) return;
        batch.forEach((item, index) => {
          const result = answer.results[index];
          if (result && item.element.isConnected) label(item.element, result);
        });
      }
      showCounts();
    } catch (error) {
      summary.textContent = `Language Lens failed: ${/** @type {Error} */ (error).message}`;
      summary.classList.add('error');
    } finally {
      scanning = false;
      if (again) {
        again = false;
        void scan();
      }
    }
  }

  // --- selection --------------------------------------------------------------------------------
  let selectionTimer = 0;
  let lastSelection = '';
  async function identifySelection() {
    const text = String(document.getSelection() ?? '').replace(/\s+/g, ' ').trim();
    if (text === lastSelection) return;
    lastSelection = text;
    if (text.length < 3) {
      selectionLine.textContent = '';
      return;
    }
    try {
      /** @type {LanguageAnswer} */
      const answer = await window.AiPlugs.infer(PLUGIN, { text });
      const result = answer.results[0];
      if (text !== lastSelection || !result) return;
      selectionLine.textContent = `Selection: ${result.name} (${result.lang}), ${Math.round(result.confidence * 100)}%`;
      selectionLine.dataset.lang = result.lang;
    } catch (error) {
      selectionLine.textContent = `Selection: ${/** @type {Error} */ (error).message}`;
    }
  }
  const onSelection = () => {
    clearTimeout(selectionTimer);
    selectionTimer = window.setTimeout(identifySelection, 300);
  };

  // --- lifecycle --------------------------------------------------------------------------------
  let stopped = false;
  let scanTimer = 0;
  const scanSoon = () => {
    clearTimeout(scanTimer);
    scanTimer = window.setTimeout(scan, 250);
  };
  const observer = new MutationObserver((records) => {
    // Our own badges are mutations too; only someone else's additions warrant a re-scan.
    if (records.some((record) => [...record.addedNodes].some((node) => node.nodeType === 1 && !/** @type {Element} */ (node).localName.startsWith('aiplugs-')))) scanSoon();
  });
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    attach();
    lastSelection = '';
    scanSoon();
  });
  document.addEventListener('selectionchange', onSelection);
  observer.observe(document.documentElement, { childList: true, subtree: true });
  window.AiPlugs.onStop?.(PLUGIN, () => {
    stopped = true;
    observer.disconnect();
    stopNavigate();
    document.removeEventListener('selectionchange', onSelection);
    host.remove();
    for (const badge of document.querySelectorAll(BADGE_TAG)) badge.remove();
    for (const element of document.querySelectorAll('[data-aiplugs-lang]')) delete /** @type {HTMLElement} */ (element).dataset[DONE];
  });
  void scan();
})();

/** @typedef {{ lang: string, name: string, confidence: number, confident: boolean }} LanguageResult */
/** @typedef {{ model: string, results: Array<LanguageResult | null> }} LanguageAnswer */
