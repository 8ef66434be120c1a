import { NAVIGATION_HOOK, type NavigationHook, type PageWorld } from './page-world.js';

/**
 * One hook per page reports SPA URL changes as `aiplugs:navigate` events. The extension's
 * MAIN-world script may have installed it first, in which case it already dispatches the events
 * and the runtime only listens. Both dedupe on the URL, so every real change fires exactly one
 * event whoever owns the hook.
 */
export function installNavigationHook(world: PageWorld): void {
  const { w } = world;
  if (w[NAVIGATION_HOOK]) return;
  const hook: NavigationHook = { owner: 'page-runtime', lastUrl: w.location.href };
  const notify = (kind: AiPlugsNavigation['kind']) => {
    const to = w.location.href;
    if (to === hook.lastUrl) return;
    const from = hook.lastUrl;
    hook.lastUrl = to;
    const detail: AiPlugsNavigation = { from, to, kind };
    world.emit('aiplugs:navigate', detail);
  };
  for (const name of ['pushState', 'replaceState'] as const) {
    const original = w.history[name];
    w.history[name] = function (this: History, ...args: Parameters<History['pushState']>) {
      const result = original.apply(this, args);
      notify(name);
      return result;
    };
  }
  world.listen('popstate', () => {
    notify('popstate');
  });
  world.listen('hashchange', () => {
    notify('hashchange');
  });
  if (w.navigation && w.navigation.addEventListener) {
    // Same-document navigations the history API never sees (navigation.navigate + intercept).
    // Deferred, so a pushState/popstate that caused it reports first with its own kind.
    w.navigation.addEventListener('currententrychange', () => {
      void Promise.resolve().then(() => {
        notify('navigation');
      });
    });
  }
  Object.defineProperty(w, NAVIGATION_HOOK, { value: hook });
}

/** `AiPlugs.onNavigate`: calls back with each `aiplugs:navigate` detail; returns the unsubscribe function. */
export function createOnNavigate(world: PageWorld): AiPlugsPageRuntime['onNavigate'] {
  return (callback) => {
    const listener = (event: Event) => {
      callback((event as CustomEvent<AiPlugsNavigation>).detail);
    };
    world.listen('aiplugs:navigate', listener);
    return () => {
      world.unlisten('aiplugs:navigate', listener);
    };
  };
}
