import browser from 'webextension-polyfill';
import { pageMessage } from '../../../gateway/src/api/page-messages';
import { whenShown } from '../../../gateway/src/runtime/page/prerendering';
import {
  MAX_MENU_COMMANDS,
  MAX_PAGE_CALLS_IN_FLIGHT,
  MAX_PAGE_DETAIL_CHARS,
  MenuCommandSchema,
  PageEvent,
  PageRequestSchema,
  RuntimeStatusReportSchema,
  type BackgroundRequest,
  type MenuCommand,
  type PageResponse,
  type RelayRequest,
} from '../common/protocol';

/**
 * The ISOLATED-world half of the page side (top frame, document_start): tells the background
 * about the document and its SPA navigations, forwards the page runtime's status reports, and
 * carries the fallback runtime's calls to the background (which holds the token) and back.
 */
export function startPageRelay(): void {
  const send = (message: BackgroundRequest) => browser.runtime.sendMessage(message);
  const quietly = (promise: Promise<unknown>) => promise.catch(() => undefined); // the extension was reloaded: nothing to tell

  // A page the browser prerenders is in no tab yet (its frame is not the tab's top frame, and the
  // background takes nothing from it): its load is told once it is shown, and its plugins start
  // then, as they do behind the proxy; the runtime's last report so far goes with it.
  const { activated, isShown } = whenShown(document);
  let heldStatus: BackgroundRequest | null = null;
  const loaded = () => {
    quietly(send({ type: 'page-loaded', url: location.href, restored: false }));
    if (heldStatus) quietly(send(heldStatus));
    heldStatus = null;
  };
  if (isShown()) loaded();
  else void activated.then(loaded);
  // A document restored from the back/forward cache kept its state but the tab's state moved on.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) quietly(send({ type: 'page-loaded', url: location.href, restored: true }));
  });
  // Any page script can dispatch the event: only a real change of URL is worth a sync.
  let lastUrl = location.href;
  window.addEventListener(PageEvent.navigate, () => {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    quietly(send({ type: 'page-navigated', url: lastUrl }));
  });
  window.addEventListener(PageEvent.runtimeStatus, (event) => {
    const report = RuntimeStatusReportSchema.safeParse(parse<unknown>((event as CustomEvent).detail));
    if (!report.success) return;
    const message: BackgroundRequest = { type: 'runtime-status', status: { ...report.data, url: location.href, commands: menuCommands(report.data.commands) } };
    if (!isShown()) heldStatus = message;
    else quietly(send(message));
  });
  // The popup's "run this command": only the background sends these (the page cannot reach runtime.onMessage).
  browser.runtime.onMessage.addListener((message: unknown) => {
    const request = message as RelayRequest | null;
    if (request?.type !== 'run-menu-command') return undefined;
    window.dispatchEvent(new CustomEvent(PageEvent.menuCommand, { detail: JSON.stringify({ pluginId: request.pluginId, id: request.commandId }) }));
    return Promise.resolve(null);
  });
  let inFlight = 0;
  window.addEventListener(PageEvent.extensionRequest, (event) => {
    const parsed = PageRequestSchema.safeParse(parse<unknown>((event as CustomEvent).detail));
    if (!parsed.success) return; // not ours, or not a request the runtime makes: nobody waits for an answer
    const request = parsed.data;
    const answer = (response: PageResponse) => window.dispatchEvent(new CustomEvent(PageEvent.extensionResponse, { detail: JSON.stringify(response) }));
    if (inFlight >= MAX_PAGE_CALLS_IN_FLIGHT) {
      answer({ id: request.id, ok: false, status: 429, error: { code: 'too_many_requests', message: pageMessage('too_many_requests') } });
      return;
    }
    const unavailable = (): PageResponse => ({ id: request.id, ok: false, status: 0, error: { code: 'extension_unavailable', message: pageMessage('extension_unavailable') } });
    inFlight += 1;
    send({ type: 'page-request', request: { ...request, url: location.href } })
      .then(
        // A refusal ({failure}) names no call: the page still gets an answer for its own.
        (response) => answer(response && typeof response === 'object' && 'failure' in response ? unavailable() : (response as PageResponse)),
        () => answer(unavailable()),
      )
      .finally(() => (inFlight -= 1));
  });
  // The worker may have restarted since the runtime last reported: ask once the page is up.
  window.addEventListener('load', () => window.dispatchEvent(new CustomEvent(PageEvent.statusRequest)), { once: true });
}

/** The well-formed commands of a report, at most MAX_MENU_COMMANDS. */
export function menuCommands(reported: unknown): MenuCommand[] {
  if (!Array.isArray(reported)) return [];
  return reported.slice(0, MAX_MENU_COMMANDS).flatMap((candidate: unknown) => {
    const parsed = MenuCommandSchema.safeParse(candidate);
    return parsed.success ? [parsed.data] : [];
  });
}

function parse<T>(detail: unknown): T | null {
  if (typeof detail !== 'string' || detail.length > MAX_PAGE_DETAIL_CHARS) return null;
  try {
    return JSON.parse(detail) as T;
  } catch {
    return null;
  }
}
