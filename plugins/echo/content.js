// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Runs in the page (document_idle). Shows that AiPlugs is active by round-tripping the page title
// through the local backend, and exposes the answer for automation as data-aiplugs-echo.
(async () => {
  const host = document.createElement('aiplugs-echo');
  host.style.cssText = 'position:fixed;right:8px;bottom:8px;z-index:2147483647';
  const root = host.attachShadow({ mode: 'closed' });
  const badge = document.createElement('span');
  badge.style.cssText = 'font:12px system-ui,sans-serif;background:#1f2937;color:#fff;padding:4px 8px;border-radius:6px;opacity:.85';
  badge.textContent = 'AiPlugs: echo...';
  root.append(badge);
  document.documentElement.append(host);
  try {
    /** @type {{ echo: { title: string }, plugin: string }} */
    const answer = await window.AiPlugs.infer('echo', { title: document.title });
    badge.textContent = `AiPlugs echo: ${answer.echo.title}`;
    document.documentElement.dataset.aiplugsEcho = JSON.stringify(answer);
  } catch (caught) {
    const error = /** @type {Error} */ (caught);
    badge.textContent = `AiPlugs echo failed: ${error.message}`;
    document.documentElement.dataset.aiplugsEchoError = error.message;
  }
})();
