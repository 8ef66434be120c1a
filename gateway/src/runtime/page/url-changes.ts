/**
 * Same-document URL changes, each reported once with the kind a plugin can act on. Shared by the
 * page runtime and the extension's MAIN-world hook (whichever is first in a page installs it):
 * - `pushState` / `replaceState`: the page called the history API;
 * - `popstate`: the user (or `history.back()`/`go()`) went back or forward;
 * - `hashchange`: only the fragment moved (`location.hash = …`, a link to `#…`);
 * - `navigation`: anything else (the Navigation API's `navigate()` with `intercept`).
 */

type Kind = 'pushState' | 'replaceState' | 'popstate' | 'hashchange' | 'navigation';

export interface UrlChange {
  from: string;
  to: string;
  kind: Kind;
}

interface NavigationEvents {
  addEventListener(type: 'currententrychange', listener: (event: Event & { navigationType?: string }) => void): void;
}

export interface UrlChangeWindow {
  location: Location;
  history: History;
  navigation?: Partial<NavigationEvents>;
}

const withoutFragment = (url: string) => {
  const hash = url.indexOf('#');
  return hash < 0 ? url : url.slice(0, hash);
};

/**
 * Watches `w` for URL changes and calls `report` once per change. `state.lastUrl` is the URL last
 * reported (the hook object both owners share); `listen` adds a window listener (the runtime's is
 * captured before any page script could replace it).
 *
 * The history methods are wrapped on `History.prototype`, keeping their name and length, so a
 * page that patches the prototype after this (as routers and analytics do) still has its patch
 * called: a wrapper on the `history` object itself hid it.
 */
export function watchUrlChanges(w: UrlChangeWindow, state: { lastUrl: string }, report: (change: UrlChange) => void, listen: (type: string, listener: () => void) => void): void {
  const notify = (kind: Kind) => {
    const to = w.location.href;
    if (to === state.lastUrl) return;
    const from = state.lastUrl;
    state.lastUrl = to;
    report({ from, to, kind });
  };
  /** Set while the browser traverses the session history (the Navigation API says so first). */
  let traversing = false;
  /** What a change the browser made (not the history API) was: a traversal, a fragment move, or `otherwise`. */
  const browserChange = (otherwise: Kind): Kind => {
    if (traversing) return 'popstate';
    return withoutFragment(w.location.href) === withoutFragment(state.lastUrl) ? 'hashchange' : otherwise;
  };

  const proto = Object.getPrototypeOf(w.history) as History;
  const wrap = (name: 'pushState' | 'replaceState') => {
    const original = proto[name];
    // A method of an object literal takes its key as name; two declared parameters, as native.
    const wrapped = {
      [name](this: History, _data: unknown, _unused: string) {
        // `arguments`: passed on exactly as given (a rest parameter would make the length 0).
        const result = original.apply(this, arguments as unknown as Parameters<History['pushState']>);
        notify(name);
        return result;
      },
    }[name];
    Object.defineProperty(proto, name, { value: wrapped, writable: true, configurable: true, enumerable: true });
  };
  wrap('pushState');
  wrap('replaceState');

  listen('popstate', () => notify(browserChange('popstate')));
  listen('hashchange', () => notify('hashchange'));
  w.navigation?.addEventListener?.('currententrychange', (event) => {
    traversing = event.navigationType === 'traverse';
    // Deferred, so a history call behind the same change reports first, with its own kind.
    void Promise.resolve().then(() => {
      notify(browserChange('navigation'));
      traversing = false;
    });
  });
}
