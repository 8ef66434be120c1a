// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Language Lens, in the page: a small badge with the language of every paragraph, and in the
// AiPlugs dock a summary of the page's languages, the language of the current selection and a
// button that hides the paragraph badges. The answers come from the web platform's standard
// `LanguageDetector` (the Language Detector API), which AiPlugs provides in every browser on
// fastText's lid.176 model, run by the gateway on this machine. The plugin has no backend of its own.
//
// Patterns worth copying for your own plugin:
// - feature-detect the standard API and ask `availability()` first: no UI where it cannot work;
//   where the model still has to be downloaded, the user's click starts it (`create()` needs a
//   user gesture then) and the `monitor`'s downloadprogress events show how far it got;
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
  /** More text than this says nothing more about its language. */
  const MAX_TEXT_CHARS = 2000;
  /** A page with more paragraphs than this gets the first ones labelled: enough to see its languages. */
  const MAX_PARAGRAPHS = 200;
  /** Below this, the detector's best guess is shown as uncertain. */
  const CONFIDENT = 0.5;
  /** How long to wait when the gateway says this site asked too often (webai.page_requests_per_minute). */
  const RATE_LIMIT_PAUSE_MS = 20_000;
  let claimed = 0;
  const DONE = 'aiplugsLang'; // data-aiplugs-lang on paragraphs we have labelled
  const names = new Intl.DisplayNames([...navigator.languages, 'en'], { type: 'language', fallback: 'code' });

  // No Language Detector API here (an insecure page, an old browser): nothing to show.
  if (typeof LanguageDetector === 'undefined') return;

  const badgeSheet = new CSSStyleSheet();
  badgeSheet.replaceSync(`
    :host { all: initial; display: inline; }
    :host([hidden]) { display: none; }
    span { font: 600 10px/1 system-ui, sans-serif; color: #1e3a8a; background: #dbeafe;
      border-radius: 4px; padding: 1px 4px; margin-left: 4px; vertical-align: super; cursor: help; }
    span.unsure { color: #334155; background: #e2e8f0; font-style: italic; }
  `);

  /** @type {LanguageDetector | null} */
  let detector = null;
  let stopped = false;

  // --- the dock --------------------------------------------------------------------------------
  /** @type {AiPlugsDockItem | null} */
  let summary = null;
  /** @type {AiPlugsDockItem | null} the selection's language, while there is one */
  let selectionBadge = null;
  let badgesShown = true;

  /** @param {AiPlugsDockBadgeOptions} fields */
  function showSummary(fields) {
    if (summary && !summary.removed) summary.update(fields);
    else summary = window.AiPlugs.ui.badge(PLUGIN, fields);
  }

  function addToggle() {
    const toggle = window.AiPlugs.ui.button(PLUGIN, {
      label: 'hide badges',
      title: 'Hide or show the language badges on paragraphs',
      onClick: () => {
        badgesShown = !badgesShown;
        toggle.update({ label: badgesShown ? 'hide badges' : 'show badges' });
        for (const badge of document.querySelectorAll(BADGE_TAG)) /** @type {HTMLElement} */ (badge).hidden = !badgesShown;
      },
    });
  }

  /** @param {string} label */
  function showSelection(label) {
    if (!label) {
      selectionBadge?.remove();
      selectionBadge = null;
    } else if (selectionBadge && !selectionBadge.removed) selectionBadge.update({ label });
    else selectionBadge = window.AiPlugs.ui.badge(PLUGIN, { label, title: 'The language of the selected text' });
  }

  // --- the detector -----------------------------------------------------------------------------
  /**
   * The top language of `text`, or null when the detector cannot tell ("und").
   * @param {string} text @returns {Promise<LanguageResult | null>}
   */
  async function identify(text) {
    if (!detector) return null;
    const [best] = await detector.detect(text.slice(0, MAX_TEXT_CHARS));
    if (!best || best.detectedLanguage === 'und') return null;
    const lang = best.detectedLanguage;
    return { lang, name: names.of(lang) ?? lang, confidence: best.confidence, confident: best.confidence >= CONFIDENT };
  }

  /** @param {unknown} error */
  const isRateLimit = (error) => /** @type {Error} */ (error)?.name === 'QuotaExceededError';
  /** @param {number} ms */
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * Creates the detector. When the model is not on this machine yet, `create()` downloads it, which
   * the API allows only in answer to a user's click (transient activation): `onClick` handlers pass
   * `withProgress`, whose downloadprogress events the summary shows.
   * @param {boolean} withProgress
   */
  async function createDetector(withProgress) {
    /** @type {LanguageDetectorCreateOptions} */
    const options = {};
    if (withProgress) {
      options.monitor = (monitor) =>
        monitor.addEventListener('downloadprogress', (event) => {
          showSummary({ label: `Language Lens: downloading the model… ${Math.round(/** @type {ProgressEvent} */ (event).loaded * 100)}%`, tone: 'busy' });
        });
    }
    detector = await LanguageDetector.create(options);
    if (stopped) return;
    addToggle();
    document.addEventListener('selectionchange', onSelection);
    observer.observe(document.documentElement, { childList: true, subtree: true });
    void scan();
  }

  async function start() {
    const availability = await LanguageDetector.availability();
    if (stopped || availability === 'unavailable') return;
    if (availability === 'available') {
      showSummary({ label: 'Language Lens: looking…', tone: 'busy' });
      await createDetector(false);
      return;
    }
    // "downloadable" / "downloading": the user decides, with a click, that the model comes here.
    showSummary({ label: 'Language Lens: the language model is not downloaded yet', tone: 'normal' });
    const download = window.AiPlugs.ui.button(PLUGIN, {
      label: 'Identify languages',
      title: "Download fastText's language model (about 1 MB, once) and label this page's paragraphs",
      onClick: () => {
        download.update({ disabled: true });
        showSummary({ label: 'Language Lens: downloading the model…', tone: 'busy' });
        createDetector(true).then(
          () => download.remove(),
          (error) => {
            download.update({ disabled: false });
            showSummary({ label: `Language Lens: ${describe(error)}`, tone: 'error' });
          },
        );
      },
    });
  }

  /** @param {unknown} error */
  function describe(error) {
    const failure = /** @type {Error} */ (error);
    return failure?.name === 'NotAllowedError' ? `not allowed here (${failure.message})` : `failed (${failure?.name}: ${failure?.message})`;
  }

  // --- paragraphs -------------------------------------------------------------------------------
  /** @type {Map<string, number>} language → paragraphs */
  const counts = new Map();

  function showCounts() {
    const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([lang, n]) => `${lang} ${n}`);
    showSummary({ label: parts.length ? `Language Lens: ${parts.join(' · ')}` : 'Language Lens: no paragraphs', tone: 'normal' });
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
    badge.title = `${result.name}, ${Math.round(result.confidence * 100)}% (LanguageDetector, fastText lid.176)`;
    if (!result.confident) badge.className = 'unsure';
    shadow.append(badge);
    element.append(badgeHost);
    counts.set(result.lang, (counts.get(result.lang) ?? 0) + 1);
  }

  /** Paragraphs not looked at yet, claimed so that no later scan takes them again. */
  function unclaimed() {
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
    return pending;
  }

  let scanning = false;
  let again = false;
  /** One paragraph at a time: the detector answers one text per call, and the site's AI calls per minute are limited. */
  async function scan() {
    if (stopped || !detector) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    try {
      for (const item of unclaimed()) {
        for (;;) {
          try {
            const result = await identify(item.text);
            if (stopped) return;
            if (result && item.element.isConnected) label(item.element, result);
            break;
          } catch (error) {
            if (!isRateLimit(error)) throw error;
            showSummary({ label: 'Language Lens: this site asked for many answers; continuing shortly…', tone: 'busy' });
            await sleep(RATE_LIMIT_PAUSE_MS);
          }
        }
      }
      showCounts();
    } catch (error) {
      showSummary({ label: `Language Lens: ${describe(error)}`, tone: 'error' });
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
      const result = await identify(text);
      if (text !== lastSelection) return;
      showSelection(result ? `Selection: ${result.name} (${result.lang}), ${Math.round(result.confidence * 100)}%` : 'Selection: language unclear');
    } catch (error) {
      showSelection(`Selection: ${describe(error)}`);
    }
  }
  const onSelection = () => {
    clearTimeout(selectionTimer);
    selectionTimer = window.setTimeout(identifySelection, 300);
  };

  // --- lifecycle --------------------------------------------------------------------------------
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
  window.AiPlugs.onStop(PLUGIN, () => {
    stopped = true;
    observer.disconnect();
    stopNavigate();
    document.removeEventListener('selectionchange', onSelection);
    detector?.destroy();
    // the dock entries are the runtime's to remove
    for (const badge of document.querySelectorAll(BADGE_TAG)) badge.remove();
    for (const element of document.querySelectorAll('[data-aiplugs-lang]')) delete /** @type {HTMLElement} */ (element).dataset[DONE];
  });
  start().catch((error) => showSummary({ label: `Language Lens: ${describe(error)}`, tone: 'error' }));
})();

/** @typedef {{ lang: string, name: string, confidence: number, confident: boolean }} LanguageResult */
