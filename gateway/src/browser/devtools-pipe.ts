import type { Readable, Writable } from 'node:stream';

/**
 * The browser's DevTools protocol over `--remote-debugging-pipe` (fd 3 in, fd 4 out, JSON messages
 * ended by NUL): reachable only by the process that started the browser, unlike a debugging port.
 * Used to open the first page once the browser is up (see `openFirstPage`) and to pair the
 * extension it loaded (`pair-over-pipe.ts`).
 */
export function devtoolsPipe(toBrowser: Writable, fromBrowser: Readable) {
  let nextId = 0;
  let buffered = '';
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  // Decoded as a stream: a character split between two reads stays whole.
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buffered += chunk;
    // Events we did not ask for are many and large: bound what waits for its NUL.
    if (buffered.length > 4 * 1024 * 1024) buffered = '';
    let end;
    while ((end = buffered.indexOf('\0')) >= 0) {
      const text = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      let message: { id?: number; result?: unknown; error?: { message?: string } };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        continue;
      }
      const pending = message.id === undefined ? undefined : waiting.get(message.id);
      if (!pending) continue;
      waiting.delete(message.id!);
      if (message.error) pending.reject(new Error(message.error.message ?? 'DevTools call failed'));
      else pending.resolve(message.result);
    }
  });
  fromBrowser.on('error', () => undefined);
  toBrowser.on('error', () => undefined);
  return {
    /** `sessionId`: a call into a target attached with `flatten: true` (a page, a service worker). */
    call<T>(method: string, params: object = {}, timeoutMs = 15_000, sessionId?: string): Promise<T> {
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`The browser did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
      });
    },
  };
}

/**
 * Opens `url` in a new tab of a browser that started on `about:blank`, and closes that blank tab.
 * Why not pass the URL on the command line: any local user can read a process's command line, and
 * the URL may be a one-time login link; and with an extension that has `declarativeNetRequest`
 * loaded by `--load-extension`, Chromium holds the start-up tab's navigation (it stayed on
 * about:blank in headless Chromium 156), while a tab opened once the browser is up loads at once.
 */
export type DevtoolsPipe = ReturnType<typeof devtoolsPipe>;

export async function openFirstPage(pipe: DevtoolsPipe, url: string): Promise<void> {
  const { targetInfos } = await pipe.call<{ targetInfos: Array<{ targetId: string; type: string; url: string }> }>('Target.getTargets');
  await pipe.call('Target.createTarget', { url });
  for (const target of targetInfos) if (target.type === 'page' && target.url === 'about:blank') await pipe.call('Target.closeTarget', { targetId: target.targetId }).catch(() => undefined);
}
