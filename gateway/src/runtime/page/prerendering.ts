/**
 * Whether a document the browser may be prerendering (speculation rules, the address bar's guess)
 * has been shown: at once for any other, else on the browser's `prerenderingchange` (a page's own
 * dispatch of that event is not trusted, and ignored). Shared by the page runtime and the
 * extension's page relay, which both hold back until then.
 */
export function whenShown(doc: Document & { prerendering?: boolean }): { activated: Promise<void>; isShown: () => boolean } {
  if (doc.prerendering !== true) return { activated: Promise.resolve(), isShown: () => true };
  let shown = false;
  const activated = new Promise<void>((resolve) => {
    const onChange = (event: Event) => {
      if (!event.isTrusted) return;
      doc.removeEventListener('prerenderingchange', onChange);
      shown = true;
      resolve();
    };
    doc.addEventListener('prerenderingchange', onChange);
  });
  return { activated, isShown: () => shown };
}
