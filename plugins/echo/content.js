// @ts-check
/// <reference path="../../types/aiplugs-page.d.ts" />
// Runs in the page (document_idle). Shows that AiPlugs is active by round-tripping the page title
// through the local backend into a badge in the AiPlugs dock, and exposes the answer for
// automation as data-aiplugs-echo. The runtime removes the badge when the plugin is switched off.
(async () => {
  const badge = window.AiPlugs.ui.badge('echo', { label: 'echo…', tone: 'busy', title: 'Echo: asking the local backend' });
  try {
    /** @type {{ echo: { title: string }, plugin: string }} */
    const answer = await window.AiPlugs.infer('echo', { title: document.title });
    badge.update({ label: `echo: ${answer.echo.title}`, tone: 'normal', title: 'Echo: the page title, round-tripped through the local backend' });
    document.documentElement.dataset.aiplugsEcho = JSON.stringify(answer);
  } catch (caught) {
    const error = /** @type {Error} */ (caught);
    badge.update({ label: `echo failed: ${error.message}`, tone: 'error' });
    document.documentElement.dataset.aiplugsEchoError = error.message;
  }
})();
