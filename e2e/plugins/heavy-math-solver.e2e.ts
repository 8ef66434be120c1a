import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { startTestSite, type TestSite } from '../support/test-site.js';
import { expectVisible, hostileCss, pluginStarted, selectText, startExampleGateway, strictPage, type ExampleGateway } from './support.js';
import { goto } from '../support/navigate.js';

// Heavy Math Solver end to end: selecting text with math on a strict-CSP page shows the exact
// answers from the Python backend in a card under the selection.

// One gateway per file: its tests run in order in one worker (the config runs files in parallel).
test.describe.configure({ mode: 'serial' });

let site: TestSite;
let gateway: ExampleGateway;
let browser: Browser;

test.beforeAll(async () => {
  site = await startTestSite({
    '/hostile.css': hostileCss,
    '/homework': strictPage(
      'Homework',
      '<main><p id="equation">Exercise 3: solve 2x + 3 = 11 for x.</p><p id="sum">What is 12 * (3 + 4) - 1/2?</p><p id="quadratic">Find the roots of x^2 - 5x + 6 = 0.</p><p id="prose">Nothing to compute in this sentence.</p></main>',
    ),
  });
  gateway = await startExampleGateway();
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.close()).toBe(0);
  await site?.close();
});

test('selected equations and arithmetic are solved exactly by the Python backend', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/homework`);
  const card = page.locator('aiplugs-math-solver .card');
  await pluginStarted(page, 'aiplugs-math-solver');

  await selectText(page, '#equation');
  await expect(card).toHaveAttribute('data-state', 'done', { timeout: 30_000 }); // the first call starts the Python worker
  await expect(card.locator('.answer')).toHaveText(['x = 4']);
  await expectVisible(page, 'aiplugs-math-solver .card .answer');

  await selectText(page, '#sum');
  await expect(card.locator('.answer')).toHaveText(['= 167/2']);
  await expect(card.locator('.input')).toHaveText(['12 * (3 + 4) - 1/2']);

  await selectText(page, '#quadratic');
  await expect(card.locator('.answer')).toHaveText(['x = 2 or x = 3']);

  // The backend is the seed-style Python file: its import-time print reached the gateway log.
  expect(gateway.log()).toMatch(/\[heavy-math-solver\] heavy-math-solver: backend loaded/);
});

test('text without math does not call the backend; Escape and SPA navigations close the card', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/homework`);
  const card = page.locator('aiplugs-math-solver .card');
  await pluginStarted(page, 'aiplugs-math-solver');
  await selectText(page, '#prose');
  await expect(card).toBeHidden();

  await selectText(page, '#equation');
  await expect(card.locator('.answer')).toHaveText(['x = 4']);
  await page.keyboard.press('Escape');
  await expect(card).toBeHidden();

  await selectText(page, '#sum');
  await expect(card.locator('.answer')).toHaveText(['= 167/2']);
  await page.evaluate(() => history.pushState({}, '', '/homework/2'));
  await expect(card).toBeHidden();
  // The same text on the new page is solved again.
  await selectText(page, '#sum');
  await expect(card).toBeVisible();
  await expect(card.locator('.answer')).toHaveText(['= 167/2']);
});
