import type { PageWorld } from './page-world.js';

/** Closed by the gateway because a newer connection of the same client replaced this one. */
const REPLACED = 4000;
/** Refused by the gateway (not a plugin of this page): retrying cannot help. */
const REFUSED = 4403;
/** No same-origin bridge without the proxy (extension transport). */
const NEEDS_PROXY = 4501;

/**
 * A fresh id per connect() call: two connections of one page both live, and the id is kept only
 * across that connection's own reconnects (the gateway replaces a zombie of the same page load).
 */
function connectionId(w: PageWorld['w']): string {
  if (w.crypto && w.crypto.randomUUID) return w.crypto.randomUUID();
  return String(Math.random()).slice(2) + String(Math.random()).slice(2);
}

/** `AiPlugs.connect`: a WebSocket to the plugin through the bridge, reconnecting with exponential backoff. */
export function createConnect(world: PageWorld): AiPlugsPageRuntime['connect'] {
  return (pluginId) => {
    const { bridge } = world;
    const events = new EventTarget();
    let socket: WebSocket | null = null;
    /** The gateway said hello on `socket`: it took the connection. A socket it refuses (over its socket limits, say) is opened and closed at once, and what was sent on it was lost. */
    let accepted = false;
    let closed = false;
    let attempt = 0;
    const pending: string[] = [];
    const url = `${bridge.indexOf('https:') === 0 ? 'wss:' : 'ws:'}${bridge.slice(bridge.indexOf('//'))}/ws?plugin_id=${encodeURIComponent(pluginId)}&client_id=${encodeURIComponent(connectionId(world.w))}`;
    const emit = (type: keyof AiPlugsConnectionEvents, detail?: unknown) => {
      events.dispatchEvent(new world.CustomEvent(type, { detail }));
    };
    const open = () => {
      const current = new world.WebSocket(url);
      socket = current;
      current.onmessage = (event) => {
        let data: unknown = event.data;
        try {
          data = world.fromJson(event.data as string);
        } catch {
          // a plain text message
        }
        if (!accepted && data !== null && typeof data === 'object' && (data as { type?: unknown }).type === 'hello') {
          accepted = true;
          attempt = 0;
          emit('open');
          while (pending.length) current.send(pending.shift() as string);
        }
        emit('message', data);
      };
      current.onclose = (event) => {
        accepted = false;
        emit('close', { code: event.code, reason: event.reason });
        if (closed || event.code === REPLACED || event.code === REFUSED) return;
        attempt += 1;
        // close() during the wait ends it: no socket opens after it.
        setTimeout(() => closed || open(), Math.min(30000, 250 * Math.pow(2, attempt)));
      };
    };
    if (world.transport === 'extension') {
      // Say so once instead of retrying forever.
      closed = true;
      setTimeout(() => {
        emit('close', { code: NEEDS_PROXY, reason: 'AiPlugs.connect needs the gateway proxy on this page' });
      }, 0);
    } else {
      // A prerendered page opens its socket once it is shown (PageWorld.activated).
      void world.activated.then(() => closed || open());
    }
    return {
      events,
      on(type, callback) {
        const listener = (event: Event) => {
          callback((event as CustomEvent).detail);
        };
        events.addEventListener(type, listener);
        return () => {
          events.removeEventListener(type, listener);
        };
      },
      send(message) {
        const text = typeof message === 'string' ? message : world.toJson(message);
        if (socket && accepted && socket.readyState === 1) socket.send(text);
        else if (!closed) pending.push(text);
      },
      close() {
        closed = true;
        if (socket) socket.close(1000, 'closed by page');
        // Closed before its page was shown (never opened): said all the same.
        else if (world.transport !== 'extension') setTimeout(() => emit('close', { code: 1000, reason: 'closed by page' }), 0);
      },
    };
  };
}
