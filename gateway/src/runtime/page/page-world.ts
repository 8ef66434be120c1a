import { createToJson } from './page-json.js';
import { whenShown } from './prerendering.js';
import type { PageRuntimeConfig, RuntimeTransport } from './runtime-config.js';

/** The flag object the navigation hook keeps on `window` (shared with the extension's MAIN-world hook). */
export interface NavigationHook {
  owner: 'extension' | 'page-runtime';
  lastUrl: string;
  /** "Reload without plugins": the extension marked this one load plugin-free. */
  suppressed?: boolean;
  /** The extension waits for the runtime to start. */
  runtimeReady?: (transport: RuntimeTransport) => void;
}

export const NAVIGATION_HOOK = '__aiplugsNavigationHook';

interface TrustedTypePolicyFactory {
  createPolicy(name: string, rules: { createScriptURL: (url: string) => unknown }): { createScriptURL(url: string): unknown };
}

/** The Navigation API (not yet in TypeScript's DOM types): only the part the runtime listens to. */
interface NavigationApi {
  addEventListener(type: 'currententrychange', listener: () => void): void;
}

/** `window` as the runtime sees it: its own globals may be absent or planted by the page. */
export type RuntimeWindow = Omit<Window & typeof globalThis, 'AiPlugs' | 'AIPLUGS_API_PORT'> & {
  AiPlugs?: { runtime?: unknown };
  AIPLUGS_API_PORT?: number;
  [NAVIGATION_HOOK]?: NavigationHook;
  trustedTypes?: TrustedTypePolicyFactory;
  navigation?: NavigationApi;
};

/**
 * The built-ins and page facts every part of the runtime uses, taken once at start-up: the
 * runtime runs in the page's own world, so it keeps references to what it needs before page
 * scripts can replace them.
 */
export interface PageWorld {
  w: RuntimeWindow;
  /**
   * fetch, given an init no page can add to through `Object.prototype` (a page whose libraries set
   * `Object.prototype.mode` made every call fail with a raw TypeError).
   */
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  /** A response's JSON (null when it has none), read with what the runtime took at start: a page may replace `Response.prototype.json`. */
  readJson: (response: Response) => Promise<unknown>;
  WebSocket: typeof WebSocket;
  CustomEvent: typeof CustomEvent;
  dispatch: (event: Event) => boolean;
  listen: Window['addEventListener'];
  unlisten: Window['removeEventListener'];
  /** JSON.stringify, deaf to the `toJSON` a page's library put on Array or Date (page-json.ts). */
  toJson: (value: unknown, replacer?: (key: string, value: unknown) => unknown) => string;
  fromJson: (text: string) => unknown;
  /** This document's origin, which its bridge base is under. */
  origin: string;
  /**
   * Every bridge call goes under this document's capability (`<origin>/__aiplugs/cap/<token>`).
   * Read it where it is used: `reconcile` replaces it after an SPA navigation.
   */
  bridge: string;
  transport: RuntimeTransport;
  /** The runtime element's nonce, given to everything it adds (a page's CSP lets those through). */
  nonce: string;
  /** Dispatches a `CustomEvent` on `window`. */
  emit(type: string, detail: unknown): void;
  /**
   * Settles once the user may see the page: at once, or for a page the browser prerenders (a
   * speculation rule, the address bar's guess) when it is shown. Calls to the gateway wait for it,
   * so a page the user never opens spends no inference, cloud budget or model download.
   */
  activated: Promise<void>;
  /** True once `activated` has settled (at once on a page that was not prerendered). */
  isShown(): boolean;
  /**
   * DOM functions the runtime builds with, taken at start-up: a page's scripts may wrap them
   * later, and did (helper-78): a session recorder's `attachShadow` was handed the dock's closed
   * shadow root, and a script blocker's `createElement` turned a plugin's script off.
   */
  dom: PageDom;
}

export interface PageDom {
  createElement<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K];
  createElement(tag: string): HTMLElement;
  appendChild<T extends Node>(parent: Node, child: T): T;
  attachShadow(host: Element, init: ShadowRootInit): ShadowRoot;
  /** Null where the browser has no popovers. */
  showPopover: ((element: HTMLElement) => void) | null;
  MutationObserver: typeof MutationObserver;
  CSSStyleSheet: typeof CSSStyleSheet;
}

function capturePageDom(w: RuntimeWindow): PageDom {
  const { createElement } = w.Document.prototype;
  const { appendChild } = w.Node.prototype;
  const { attachShadow } = w.Element.prototype;
  const showPopover = (w.HTMLElement.prototype as Partial<HTMLElement>).showPopover;
  const doc = w.document;
  return {
    createElement: (tag: string) => createElement.call(doc, tag),
    appendChild: <T extends Node>(parent: Node, child: T) => appendChild.call(parent, child) as T,
    attachShadow: (host, init) => attachShadow.call(host, init),
    showPopover: showPopover ? (element) => showPopover.call(element) : null,
    MutationObserver: w.MutationObserver,
    CSSStyleSheet: w.CSSStyleSheet,
  };
}

export function capturePageWorld(w: RuntimeWindow, config: Partial<PageRuntimeConfig>): PageWorld {
  const NativeCustomEvent = w.CustomEvent;
  const dispatch = w.dispatchEvent.bind(w);
  const nativeFetch = w.fetch.bind(w);
  const responseText = w.Response.prototype.text;
  const { assign, create } = Object;
  const parse = JSON.parse;
  const current = document.currentScript;
  const origin = w.location.origin;
  return {
    w,
    fetch: (url, init) => nativeFetch(url, assign(create(null) as RequestInit, init)),
    readJson: (response) =>
      responseText.call(response).then(
        (text) => {
          try {
            return parse(text) as unknown;
          } catch {
            return null;
          }
        },
        () => null,
      ),
    WebSocket: w.WebSocket,
    CustomEvent: NativeCustomEvent,
    dispatch,
    listen: w.addEventListener.bind(w),
    unlisten: w.removeEventListener.bind(w),
    toJson: createToJson({ stringify: JSON.stringify, isArray: Array.isArray, Date, dateToJson: Date.prototype.toJSON }),
    fromJson: JSON.parse,
    origin,
    bridge: origin + (typeof config.bridge === 'string' ? config.bridge : '/__aiplugs'),
    transport: config.transport === 'extension' ? 'extension' : 'bridge',
    nonce: (current && (current.nonce || current.getAttribute('nonce'))) || '',
    emit: (type, detail) => {
      dispatch(new NativeCustomEvent(type, { detail }));
    },
    ...whenShown(document),
    dom: capturePageDom(w),
  };
}

/** Calls the gateway once the page is shown (`PageWorld.activated`); aborting the call while it waits rejects it at once. */
export function onceActivated<T>(world: PageWorld, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  if (world.isShown()) return call();
  if (!signal) return world.activated.then(call);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void world.activated.then(() => {
      signal.removeEventListener('abort', onAbort);
      if (!signal.aborted) call().then(resolve, reject);
    });
  });
}
