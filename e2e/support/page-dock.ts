import type { Page } from '@playwright/test';

/**
 * Reads and clicks the AiPlugs page dock from a test. The dock lives in a CLOSED shadow root that
 * neither page scripts nor Playwright's selectors can enter; the Chrome DevTools Protocol can (its
 * DOM domain pierces shadow roots), so the tests see exactly what the user sees, and click with
 * the real mouse at the element's place on screen.
 */

export interface DockElement {
  /** `button`, `badge`, `panel`, `menu-item`, `menu-toggle`, `collapse` */
  kind: string;
  plugin: string | null;
  text: string;
  /** A panel's heading, else the element's text. */
  label: string;
  className: string;
  disabled: boolean;
  title: string;
  box: { x: number; y: number; width: number; height: number };
  /** What the page's own hit test finds at the element's centre (the dock host when nothing covers it). */
  hit: string | null;
}

interface CdpNode {
  localName?: string;
  backendNodeId: number;
  children?: CdpNode[];
  shadowRoots?: CdpNode[];
  contentDocument?: CdpNode;
}

function findHost(node: CdpNode): CdpNode | null {
  if (node.localName === 'aiplugs-dock') return node;
  for (const child of [...(node.children ?? []), ...(node.shadowRoots ?? [])]) {
    const found = findHost(child);
    if (found) return found;
  }
  return null;
}

// Runs with `this` = the dock's shadow root, in the page's world.
const DESCRIBE = `function () {
  const kindOf = (element) => element.classList.contains('collapse') ? 'collapse' : element.classList.contains('menu-toggle') ? 'menu-toggle'
    : element.closest('.menu') ? 'menu-item' : element.classList.contains('panel') ? 'panel' : element.classList.contains('badge') ? 'badge' : 'button';
  const elements = [...this.querySelectorAll('.bar > button, .bar > .badge, .panel, .menu button')];
  return elements.map((element) => {
    const rect = element.getBoundingClientRect();
    const hitElement = document.elementFromPoint(rect.x + rect.width / 2, rect.y + rect.height / 2);
    const kind = kindOf(element);
    const text = kind === 'panel' ? element.querySelector('.body').textContent : kind === 'menu-item' ? element.firstChild.textContent : element.textContent;
    const label = kind === 'panel' ? element.querySelector('.head span').textContent.replace(/ · [^·]*$/, '') : text;
    return {
      kind, text, label, plugin: element.dataset.plugin || (kind === 'menu-item' ? element.querySelector('.owner').textContent : null),
      className: element.className, disabled: Boolean(element.disabled), title: element.title || '',
      box: { x: rect.x, y: rect.y, width: rect.width, height: rect.height },
      hit: hitElement ? hitElement.localName : null,
    };
  });
}`;

// Runs with `this` = the dock's shadow root: a MutationObserver that keeps every distinct state of
// one plugin's panel, so a state shorter than a poll (a fast model's "busy") is still seen. Returns
// the array it fills; the observer lives as long as the page.
const RECORD_PANEL = `function (plugin) {
  const describe = ${DESCRIBE};
  const states = [];
  const record = () => {
    const panel = describe.call(this).find((element) => element.kind === 'panel' && element.plugin === plugin);
    const last = states.at(-1);
    if (panel && !(last && last.className === panel.className && last.label === panel.label && last.text === panel.text)) states.push(panel);
  };
  new MutationObserver(record).observe(this, { subtree: true, childList: true, characterData: true, attributes: true });
  record();
  return states;
}`;

type Cdp = Awaited<ReturnType<ReturnType<Page['context']>['newCDPSession']>>;

/** Resolves the dock's shadow root in the page's world, or null when the page has no dock. */
async function dockRoot(cdp: Cdp): Promise<string | null> {
  const { root } = (await cdp.send('DOM.getDocument', { depth: -1, pierce: true })) as { root: CdpNode };
  const shadow = findHost(root)?.shadowRoots?.[0];
  if (!shadow) return null;
  const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: shadow.backendNodeId });
  return object.objectId ?? null;
}

/** Everything the dock shows now, in order (empty when the page has no dock). */
export async function dockElements(page: Page): Promise<DockElement[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const objectId = await dockRoot(cdp);
    if (!objectId) return [];
    const { result } = await cdp.send('Runtime.callFunctionOn', { objectId, functionDeclaration: DESCRIBE, returnByValue: true });
    return result.value as DockElement[];
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** One panel as the tests compare it: `<tone> <heading>: <text>`. */
export function panelState(panel: Pick<DockElement, 'className' | 'label' | 'text'>): string {
  const tone = ['busy', 'error'].find((name) => panel.className.split(' ').includes(name)) ?? 'normal';
  return `${tone} ${panel.label}: ${panel.text}`;
}

export interface DockPanelRecording {
  /** Every distinct state the panel has shown since recording began, oldest first. */
  states(): Promise<string[]>;
  /** Waits until `done` holds for the latest state (a hang guard, not a timing claim), then stops recording and returns them all. */
  until(done: (shown: string) => boolean, timeoutMs?: number): Promise<string[]>;
}

/**
 * Starts recording one plugin's dock panel inside the page. Start it before the action that
 * changes the panel: states are caught as the page renders them, not when a poll happens to look.
 */
export async function recordDockPanel(page: Page, plugin: string): Promise<DockPanelRecording> {
  const cdp = await page.context().newCDPSession(page);
  const objectId = await dockRoot(cdp);
  if (!objectId) {
    await cdp.detach().catch(() => undefined);
    throw new Error(`The page has no AiPlugs dock to record ${plugin}'s panel in`);
  }
  const { result } = await cdp.send('Runtime.callFunctionOn', { objectId, functionDeclaration: RECORD_PANEL, arguments: [{ value: plugin }] });
  const states = async (): Promise<string[]> => {
    const read = await cdp.send('Runtime.callFunctionOn', { objectId: result.objectId!, functionDeclaration: 'function () { return this; }', returnByValue: true });
    return (read.result.value as DockElement[]).map(panelState);
  };
  return {
    states,
    async until(done, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      try {
        for (;;) {
          const seen = await states();
          const last = seen.at(-1);
          if (last !== undefined && done(last)) return seen;
          if (Date.now() > deadline) throw new Error(`The ${plugin} panel never got there; it showed: ${seen.join(' | ') || 'nothing'}`);
          await page.waitForTimeout(50);
        }
      } finally {
        await cdp.detach().catch(() => undefined);
      }
    },
  };
}

/** The dock's texts by kind, for compact assertions: `["badge echo: Hello", "button Summarize"]`. */
export async function dockSummary(page: Page, plugin?: string): Promise<string[]> {
  return (await dockElements(page)).filter((element) => !plugin || element.plugin === plugin).map((element) => `${element.kind} ${element.kind === 'panel' ? `${element.label}: ${element.text}` : element.text}`);
}

/**
 * Clicks the first dock element that matches, with the mouse, where it is on screen. The dock grows
 * upwards as plugins add entries (another plugin's badge may come a moment later), so the element's
 * place is read until two reads 100 ms apart agree: a click at a place it has left would land on
 * something else.
 */
export async function clickDock(page: Page, match: (element: DockElement) => boolean): Promise<void> {
  const sameBox = (a: DockElement['box'], b: DockElement['box']) => a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
  let element = (await dockElements(page)).find(match);
  for (let reads = 0; element && reads < 50; reads += 1) {
    await page.waitForTimeout(100);
    const again = (await dockElements(page)).find(match);
    if (again && sameBox(again.box, element.box)) break;
    element = again;
  }
  if (!element) throw new Error(`No such element in the AiPlugs dock; it shows: ${(await dockSummary(page)).join(' | ') || 'nothing'}`);
  await page.mouse.click(element.box.x + element.box.width / 2, element.box.y + element.box.height / 2);
}
