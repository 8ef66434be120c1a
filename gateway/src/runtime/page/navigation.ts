import { NAVIGATION_HOOK, type NavigationHook, type PageWorld } from './page-world.js';
import { watchUrlChanges, type UrlChangeWindow } from './url-changes.js';

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
  watchUrlChanges(w as unknown as UrlChangeWindow, hook, (change: AiPlugsNavigation) => world.emit('aiplugs:navigate', change), (type, listener) => world.listen(type, listener));
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
