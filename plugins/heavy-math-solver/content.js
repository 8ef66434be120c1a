// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Heavy Math Solver, in the page: select text that holds arithmetic or an equation and a small
// card appears under the selection with the exact answers, computed by the plugin's Python backend.
// The card lives in a shadow root (page CSS cannot touch it) and is built with DOM calls only.
(() => {
  const PLUGIN = 'heavy-math-solver';
  /** Selections worth a backend call: a digit and an operator or "=". */
  const LOOKS_LIKE_MATH = /\d[\s\S]*[-+*/^=×÷−%]|[-+*/^=×÷−][\s\S]*\d|sqrt/;
  const MAX_SELECTION = 5000;

  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; }
    .card { position: absolute; z-index: 2147483646; min-width: 160px; max-width: 420px;
      font: 13px/1.45 system-ui, sans-serif; color: #0f172a; background: #fefce8;
      border: 1px solid #facc15; border-radius: 8px; box-shadow: 0 4px 14px rgba(0,0,0,.18); padding: 6px 10px; }
    .card[hidden] { display: none; }
    .head { display: flex; align-items: center; gap: 8px; font-size: 11px; color: #854d0e; }
    .head span { flex: 1; }
    .head button { all: unset; cursor: pointer; font-size: 14px; line-height: 1; padding: 0 2px; }
    ol { margin: 4px 0 0; padding-left: 18px; }
    li { margin: 2px 0; }
    .answer { font: 600 14px/1.4 ui-monospace, monospace; }
    .input { color: #57534e; font-size: 11px; }
    .skipped { color: #78716c; font-size: 11px; margin-top: 4px; }
    .error { color: #b91c1c; }
  `);

  const host = document.createElement('aiplugs-math-solver');
  const root = host.attachShadow({ mode: 'open' });
  root.adoptedStyleSheets = [sheet];
  const card = document.createElement('div');
  card.className = 'card';
  card.hidden = true;
  card.setAttribute('role', 'status');
  const head = document.createElement('div');
  head.className = 'head';
  const title = document.createElement('span');
  title.textContent = 'Heavy Math Solver';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = '×';
  close.setAttribute('aria-label', 'Close');
  head.append(title, close);
  const body = document.createElement('div');
  body.className = 'body';
  card.append(head, body);
  root.append(card);
  close.addEventListener('click', () => {
    card.hidden = true;
  });

  function attach() {
    if (!host.isConnected) document.documentElement.append(host);
    host.style.setProperty('position', 'absolute', 'important');
    host.style.setProperty('top', '0', 'important');
    host.style.setProperty('left', '0', 'important');
  }

  /** Places the card under the selection, in page coordinates. @param {Range} range */
  function placeUnder(range) {
    const rect = range.getBoundingClientRect();
    const origin = document.documentElement.getBoundingClientRect();
    card.style.left = `${Math.max(0, rect.left - origin.left)}px`;
    card.style.top = `${rect.bottom - origin.top + 8}px`;
  }

  /** @param {MathAnswer} answer */
  function show(answer) {
    body.replaceChildren();
    if (answer.problems.length === 0) {
      const none = document.createElement('div');
      none.className = 'skipped';
      none.textContent = answer.skipped.length ? `Could not solve: ${answer.skipped.map((s) => `${s.input} (${s.reason})`).join('; ')}` : 'No arithmetic or equation found in the selection.';
      body.append(none);
      return;
    }
    const list = document.createElement('ol');
    for (const problem of answer.problems) {
      const item = document.createElement('li');
      const result = document.createElement('div');
      result.className = 'answer';
      result.textContent = problem.kind === 'arithmetic' ? `= ${problem.result.text}` : problem.answer;
      const input = document.createElement('div');
      input.className = 'input';
      input.textContent = problem.input;
      item.append(result, input);
      list.append(item);
    }
    body.append(list);
    if (answer.skipped.length) {
      const skipped = document.createElement('div');
      skipped.className = 'skipped';
      skipped.textContent = `Skipped: ${answer.skipped.map((s) => `${s.input} (${s.reason})`).join('; ')}`;
      body.append(skipped);
    }
  }

  let timer = 0;
  let asked = '';
  async function solveSelection() {
    const selection = document.getSelection();
    const text = String(selection ?? '').trim();
    if (!selection || selection.rangeCount === 0 || text === asked) return;
    if (!LOOKS_LIKE_MATH.test(text) || text.length > MAX_SELECTION) return; // leave an open card alone
    // Selecting inside our own card (to copy an answer) must not ask again.
    if (selection.anchorNode && host.contains(selection.anchorNode)) return;
    asked = text;
    attach();
    placeUnder(selection.getRangeAt(0));
    card.hidden = false;
    card.dataset.state = 'solving';
    body.replaceChildren(Object.assign(document.createElement('div'), { className: 'skipped', textContent: 'Solving…' }));
    try {
      /** @type {MathAnswer} */
      const answer = await window.AiPlugs.infer(PLUGIN, { text });
      if (text !== asked) return;
      show(answer);
      card.dataset.state = 'done';
    } catch (error) {
      if (text !== asked) return;
      body.replaceChildren(Object.assign(document.createElement('div'), { className: 'error', textContent: `Failed: ${/** @type {Error} */ (error).message}` }));
      card.dataset.state = 'error';
    }
  }
  const onSelection = () => {
    clearTimeout(timer);
    timer = window.setTimeout(solveSelection, 350);
  };
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (event.key === 'Escape') card.hidden = true;
  };

  document.addEventListener('selectionchange', onSelection);
  document.addEventListener('keydown', onKey);
  const stopNavigate = window.AiPlugs.onNavigate(() => {
    // The selection's page is gone: hide the card, and be ready to solve the same text again.
    card.hidden = true;
    asked = '';
    attach();
  });
  window.AiPlugs.onStop?.(PLUGIN, () => {
    document.removeEventListener('selectionchange', onSelection);
    document.removeEventListener('keydown', onKey);
    stopNavigate();
    host.remove();
  });
  attach();
})();

/**
 * @typedef {{ text: string, exact: string | null, decimal: string }} MathNumber
 * @typedef {{ kind: 'arithmetic', input: string, result: MathNumber, answer: string }
 *   | { kind: 'equation', input: string, variable: string, degree: number, solutions: MathNumber[], answer: string }} MathProblem
 * @typedef {{ problems: MathProblem[], skipped: Array<{ input: string, reason: string }> }} MathAnswer
 */
