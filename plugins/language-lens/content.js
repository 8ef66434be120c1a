// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Language Lens, in the page: a small badge with the language of every paragraph, and in the
// AiPlugs dock a summary of the page's languages, the language of the current selection and a
// button that hides the paragraph badges. The answers come from the plugin's local backend through
// window.AiPlugs.infer.
//
// Patterns worth copying for your own plugin:
// - page-wide UI goes in the AiPlugs dock (window.AiPlugs.ui), which the runtime owns and removes
//   when the plugin stops; UI next to page content lives in a shadow root styled by a constructed
//   style sheet: page CSS cannot reach it, it cannot leak into the page, and it works under strict
//   CSP and Trusted Types (no inline <style>, no innerHTML);
// - SPA navigations (`aiplugs:navigate`) and DOM changes re-scan only what is new, and re-attach
//   the badges if the page's router threw them away;
// - AiPlugs.onStop tears everything down when the plugin is switched off for the page.
(() => {
  const PLUGIN = 'language-lens';
  const BADGE_TAG = 'aiplugs-lang-badge';
  /** Elements whose text is worth a badge, and the least text that identifies reliably. */
  const BLOCKS = 'p, li, blockquote, dd, dt, h1, h2, h3, h4, figcaption, td';
  const MIN_CHARS = 20;
  const MAX_PER_REQUEST = 100;
  /** A page with more paragraphs than this gets the first ones labelled: enough to see its languages. */
  const MAX_PARAGRAPHS = 2000;
  let claimed = 0;
  const DONE = 'aiplugsLang'; // data-aiplugs-lang on paragraphs we have labelled

  const badgeSheet = new CSSStyleSheet();
  badgeSheet.replaceSync(`
    :host { all: initial; display: inline; }
    :host([hidden]) { display: none; }
    span { font: 600 10px/1 system-ui, sans-serif; color: #1e3a8a; background: #dbeafe;
      border-radius: 4px; padding: 1px 4px; margin-left: 4px; vertical-align: super; cursor: help; }
    span.unsure { color: #334155; background: #e2e8f0; font-style: italic; }
  `);

  // --- the dock --------------------------------------------------------------------------------
  const summary = window.AiPlugs.ui.badge(PLUGIN, { label: 'Language Lens: looking…', tone: 'busy' });
  /** @type {AiPlugsDockItem | null} the selection's language, while there is one */
  let selectionBadge = null;
  let badgesShown = true;
  const toggle = window.AiPlugs.ui.button(PLUGIN, {
    label: 'hide badges',
    title: 'Hide or show the language badges on paragraphs',
    onClick: () => {
      badgesShown = !badgesShown;
      toggle.update({ label: badgesShown ? 'hide badges' : 'show badges' });
      for (const badge of document.querySelectorAll(BADGE_TAG)) /** @type {HTMLElement} */ (badge).hidden = !badgesShown;
    },
  });

  /** @param {string} label */
  function showSelection(label) {
    if (!label) {
      selectionBadge?.remove();
      selectionBadge = null;
    } else if (selectionBadge && !selectionBadge.removed) selectionBadge.update({ label });
    else selectionBadge = window.AiPlugs.ui.badge(PLUGIN, { label, title: 'The language of the selected text' });
  }

  // --- paragraphs -------------------------------------------------------------------------------
  /** @type {Map<string, number>} language → paragraphs */
  const counts = new Map();

  function showCounts() {
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([lang, n]) => `${lang} ${n}`);
    summary.update({ label: parts.length ? `Language Lens: ${parts.join(' · ')}` : 'Language Lens: no paragraphs', tone: 'normal' });
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
      const pending = [];
      for (const element of document.querySelectorAll(BLOCKS)) {
        if (claimed >= MAX_PARAGRAPHS) break;
        if (/** @type {HTMLElement} */ (element).dataset[DONE] !== undefined || element.closest(BADGE_TAG)) continue;
        const text = ownText(element);
        /** @type {HTMLElement} */ (element).dataset[DONE] = ''; // claimed, whatever the answer
        if (text.length >= MIN_CHARS) {
          pending.push({ element, text });
          claimed += 1;
        }
      }
      for (let i = 0; i < pending.length; i += MAX_PER_REQUEST) {
        const batch = pending.slice(i, i + MAX_PER_REQUEST);
        if (counts.size === 0) summary.update({ label: 'Language Lens: identifying (first use loads the model)…', tone: 'busy' });
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
      summary.update({ label: `Language Lens failed: ${/** @type {Error} */ (error).message}`, tone: 'error' });
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
      showSelection('');
      return;
    }
    try {
      /** @type {LanguageAnswer} */
      const answer = await window.AiPlugs.infer(PLUGIN, { text });
      const result = answer.results[0];
      if (text !== lastSelection || !result) return;
      showSelection(`Selection: ${result.name} (${result.lang}), ${Math.round(result.confidence * 100)}%`);
    } catch (error) {
      showSelection(`Selection: ${/** @type {Error} */ (error).message}`);
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
    lastSelection = '';
    scanSoon();
  });
  document.addEventListener('selectionchange', onSelection);
  observer.observe(document.documentElement, { childList: true, subtree: true });
  window.AiPlugs.onStop(PLUGIN, () => {
    stopped = true;
    observer.disconnect();
    stopNavigate();
    document.removeEventListener('selectionchange', onSelection);
    // the dock entries are the runtime's to remove
    for (const badge of document.querySelectorAll(BADGE_TAG)) badge.remove();
    for (const element of document.querySelectorAll('[data-aiplugs-lang]')) delete /** @type {HTMLElement} */ (element).dataset[DONE];
  });
  void scan();
})();

/** @typedef {{ lang: string, name: string, confidence: number, confident: boolean }} LanguageResult */
/** @typedef {{ model: string, results: Array<LanguageResult | null> }} LanguageAnswer */
