import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { clickDock, dockElements, dockSummary, type DockElement } from '../support/page-dock.js';
import { respond } from '../support/test-site.js';
import { collectConsoleErrors, hostileCss, progressStates, selectText, startExampleStack, startModelHost, strictPage, type ExampleStack } from './support.js';
import { goto } from '../support/navigate.js';

// Language Lens end to end on the standard LanguageDetector API: the gateway as `npm start` runs
// it, with an empty models folder and the model's official host standing in as a local server that
// does not have the file (the real one is never contacted). On the first page the detector is
// "downloadable": the dock offers the download, the user's click provisions lid.176.ftz (the Web AI
// built-in's declaration) from the copy inside the fasttext.wasm.js package, and the page shows
// fastText's real answers. Later pages find the model "available" and start by themselves.

const GERMAN = 'Der schnelle braune Fuchs springt über den faulen Hund, und am Abend gehen wir zusammen in den Biergarten.';
const ENGLISH = 'The quick brown fox jumps over the lazy dog, and in the evening we all go for a walk along the river.';
const FRENCH = 'Nous sommes allés au marché ce matin pour acheter du pain frais, du fromage et des fruits de saison.';
const ITALIAN = 'Questa sera andiamo a mangiare una pizza con gli amici nella piazza vicino alla stazione centrale.';

/** The page's "router": replaces the whole body (our chip included) and pushes a new URL. */
const SPA_JS = `
document.getElementById('next').addEventListener('click', (event) => {
  event.preventDefault();
  const main = document.createElement('main');
  const p = document.createElement('p');
  p.id = 'it';
  p.textContent = ${JSON.stringify(ITALIAN)};
  main.append(p);
  document.body.replaceChildren(main);
  history.pushState({}, '', '/lens/page-2');
});`;

// One gateway per file: its tests run in order in one worker (the config runs files in parallel).
test.describe.configure({ mode: 'serial', timeout: 120_000 });

let modelHost: Awaited<ReturnType<typeof startModelHost>>;
let stack: ExampleStack;

test.beforeAll(async () => {
  modelHost = await startModelHost(); // has nothing: the official URL fails with 404
  stack = await startExampleStack({
    routes: {
      '/hostile.css': hostileCss,
      '/spa.js': respond(200, { 'content-type': 'text/javascript' }, SPA_JS),
      '/lens': strictPage(
        'Language Lens test',
        `<main><p id="de">${GERMAN}</p><p id="en">${ENGLISH}</p><p id="fr">${FRENCH}</p><p id="short">Hi there.</p><a id="next" href="/lens/page-2">next page</a></main><script src="/spa.js"></script>`,
      ),
    },
    env: { AIPLUGS_MODEL_MIRROR: modelHost.url },
  });
});

test.afterAll(async () => {
  expect(await stack?.close()).toBe(0);
  await modelHost?.close();
});

const isDownload = (element: DockElement) => element.kind === 'button' && element.plugin === 'language-lens' && element.text === 'Identify languages';
/** The dock badge whose text starts with `prefix`. */
const lensBadge = async (page: Page, prefix: string) => (await dockSummary(page, 'language-lens')).find((line) => line.startsWith(`badge ${prefix}`)) ?? null;

test('first use: the dock offers the download, the click provisions lid.176.ftz from the package mirror, and paragraphs get their real languages', async () => {
  const page = await stack.browser.newPage();
  const consoleErrors = collectConsoleErrors(page);
  await goto(page, `${stack.site.origin}/lens`);

  await expect.poll(() => lensBadge(page, 'Language Lens')).toBe('badge Language Lens: the language model is not downloaded yet');
  await expect.poll(async () => (await dockElements(page)).some(isDownload)).toBe(true);
  expect(modelHost.requests).toEqual([]); // nothing is fetched before the user asks
  await clickDock(page, isDownload);

  // The first answer waits for provisioning and the model load: a hang guard, not a timing claim.
  await expect(page.locator('#de aiplugs-lang-badge span')).toHaveText('de', { timeout: 60_000 });
  await expect(page.locator('#en aiplugs-lang-badge span')).toHaveText('en');
  await expect(page.locator('#fr aiplugs-lang-badge span')).toHaveText('fr');
  await expect(page.locator('#de')).toHaveAttribute('data-aiplugs-lang', 'de');
  await expect(page.locator('#de aiplugs-lang-badge span')).toHaveAttribute('title', /^German, \d+% \(LanguageDetector, fastText lid\.176\)$/);
  await expect(page.locator('#short aiplugs-lang-badge')).toHaveCount(0); // too short to tell
  await expect.poll(() => lensBadge(page, 'Language Lens')).toMatch(/^badge Language Lens: (de|en|fr) 1 · (de|en|fr) 1 · (de|en|fr) 1$/);
  await expect.poll(async () => (await dockElements(page)).some(isDownload)).toBe(false);
  expect((await dockSummary(page, 'language-lens')).filter((line) => line.startsWith('button'))).toEqual(['button hide badges']);

  // Provisioning: the official URL was tried (at the stand-in host), then the package's copy.
  expect(modelHost.requests).toContain('/fasttext/supervised-models/lid.176.ftz');
  expect((await stat(join(stack.gateway.modelsDir, 'lid.176.ftz'))).size).toBe(938013);
  const states = progressStates(stack.gateway, 'webai:language-detector');
  expect(states.at(-1)).toBe('ready');
  expect(states.length).toBeGreaterThan(1); // progress before ready
  expect(stack.gateway.log()).toMatch(/Model lid\.176\.ftz ready for webai:language-detector: .* from file:\S*node_modules\/fasttext\.wasm\.js\/dist\/models\/language-identification\/assets\/lid\.176\.ftz/);
  expect(consoleErrors.filter((text) => /Content Security Policy|TrustedHTML|Trusted Type/i.test(text))).toEqual([]);

  // The badges' button hides and shows them.
  await clickDock(page, (element) => element.plugin === 'language-lens' && element.text === 'hide badges');
  await expect(page.locator('#de aiplugs-lang-badge')).toBeHidden();
  await clickDock(page, (element) => element.plugin === 'language-lens' && element.text === 'show badges');
  await expect(page.locator('#de aiplugs-lang-badge span')).toBeVisible();
});

test('the model now "available": a new page labels itself, and the selection badge names the language of what is selected', async () => {
  const page = await stack.browser.newPage();
  await goto(page, `${stack.site.origin}/lens`);
  await expect(page.locator('#fr aiplugs-lang-badge span')).toHaveText('fr');
  expect((await dockElements(page)).some(isDownload)).toBe(false);
  await selectText(page, '#fr');
  await expect.poll(() => lensBadge(page, 'Selection')).toMatch(/^badge Selection: French \(fr\), \d+%$/);
  await selectText(page, '#de');
  await expect.poll(() => lensBadge(page, 'Selection')).toMatch(/^badge Selection: German \(de\), \d+%$/);
});

test('an SPA navigation that throws the body away gets the new paragraphs labelled', async () => {
  const page = await stack.browser.newPage();
  await goto(page, `${stack.site.origin}/lens`);
  await expect(page.locator('#de aiplugs-lang-badge span')).toHaveText('de');
  await page.click('#next');
  await expect(page).toHaveURL(/\/lens\/page-2$/);
  await expect(page.locator('#it aiplugs-lang-badge span')).toHaveText('it');
  await expect.poll(() => lensBadge(page, 'Language Lens')).toMatch(/\bit 1\b/);
});
