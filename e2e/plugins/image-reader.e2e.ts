import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test, type Browser } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { REPO_ROOT } from '../support/gateway-process.js';
import { respond, startTestSite, type TestSite } from '../support/test-site.js';
import { expectVisible, hostileCss, pluginStarted, progressStates, startExampleGateway, startModelHost, strictPage, type ExampleGateway } from './support.js';
import { goto } from '../support/navigate.js';

// Image Reader end to end: the test renders a sign with Chromium, serves it on a strict-CSP page,
// and clicks "Read text". The model's official URL is served by a local stand-in host (through
// AIPLUGS_MODEL_MIRROR) with the bytes of the @tesseract.js-data/eng package, so the first use
// really downloads eng.traineddata.gz over HTTP, verifies it, and tesseract.js reads the sign.

const OFFICIAL_PATH = '/npm/@tesseract.js-data/eng@1.0.0/4.0.0_best_int/eng.traineddata.gz';
const SIGN_TEXT = 'OPEN SUNDAY 10 TO 4';

// One gateway per file: its tests run in order in one worker (the config runs files in parallel).
test.describe.configure({ mode: 'serial', timeout: 120_000 });

let site: TestSite;
let modelHost: Awaited<ReturnType<typeof startModelHost>>;
let gateway: ExampleGateway;
let browser: Browser;

test.beforeAll(async () => {
  const model = await readFile(join(REPO_ROOT, 'node_modules/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz'));
  modelHost = await startModelHost({ [OFFICIAL_PATH]: model });
  gateway = await startExampleGateway({ env: { AIPLUGS_MODEL_MIRROR: modelHost.url } });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);

  // The image under test: black text on white, rendered by Chromium itself.
  const renderer = await browser.newPage();
  await renderer.setContent(`<div id="sign" style="display:inline-block;padding:24px 32px;background:#fff;color:#000;font:bold 44px/1.2 sans-serif">${SIGN_TEXT}</div>`);
  const sign = await renderer.locator('#sign').screenshot();
  await renderer.close();

  site = await startTestSite({
    '/hostile.css': hostileCss,
    '/sign.png': respond(200, { 'content-type': 'image/png' }, sign),
    '/photo': strictPage('Image Reader test', '<main><h1>Opening hours</h1><img id="sign" src="/sign.png" alt="a sign"></main>'),
  });
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.close()).toBe(0);
  await modelHost?.close();
  await site?.close();
});

test('"Read text" on an image shows Tesseract\'s reading, with the model downloaded on first use', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/photo`);
  await pluginStarted(page, 'aiplugs-image-reader');
  await expect(page.locator('#sign')).toHaveJSProperty('complete', true);

  await page.hover('#sign');
  const read = page.locator('aiplugs-image-reader button.read');
  await expectVisible(page, 'aiplugs-image-reader button.read');
  await read.click();

  const panel = page.locator('aiplugs-image-reader .panel');
  // The first answer waits for the download, tesseract's start and the OCR: a hang guard, not a timing claim.
  await expect(panel).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(panel.locator('.text')).toHaveText(/OPEN\s+SUNDAY\s+10\s+TO\s+4/);
  await expect(panel.locator('.title')).toHaveText(/Tesseract, \d+% confident/);
  await expectVisible(page, 'aiplugs-image-reader .panel .text');

  // Provisioning went over HTTP to the "official" URL, with progress, into the models folder.
  expect(modelHost.requests).toContain(OFFICIAL_PATH);
  expect((await stat(join(gateway.modelsDir, 'eng.traineddata.gz'))).size).toBe(2952873);
  const states = progressStates(gateway, 'image-reader');
  expect(states).toContain('downloading');
  expect(states.at(-1)).toBe('ready');
  expect(gateway.log()).toContain(`image-reader: loaded Tesseract model ${join(gateway.modelsDir, 'eng.traineddata.gz')}`);

  // Close removes the panel; the page's own content was never touched.
  await panel.getByRole('button', { name: 'Close' }).click();
  await expect(panel).toHaveCount(0);
  expect(await page.locator('main').evaluate((main) => main.children.length)).toBe(2);
});

test('after an SPA navigation the button still appears on the new page\'s images', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/photo`);
  await pluginStarted(page, 'aiplugs-image-reader');
  await page.evaluate(() => {
    const img = document.createElement('img');
    img.id = 'again';
    img.src = '/sign.png';
    document.body.replaceChildren(img); // a router replacing the page's content
    history.pushState({}, '', '/photo/next');
  });
  await expect(page.locator('#again')).toHaveJSProperty('complete', true);
  await page.hover('#again');
  await expectVisible(page, 'aiplugs-image-reader button.read');
});
