import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { launchThroughProxy } from '../support/chromium.js';
import { REPO_ROOT } from '../support/gateway-process.js';
import { respond, startTestSite, type Handler, type TestSite } from '../support/test-site.js';
import { collectConsoleErrors, expectVisible, hostileCss, pluginStarted, progressStates, startExampleGateway, STRICT_CSP, type ExampleGateway } from './support.js';
import { goto } from '../support/navigate.js';

// Super Vision end to end: photos on a strict-CSP page, a button on the image, CenterNet's boxes
// over it. The model's official URLs are served by a local stand-in host (through
// AIPLUGS_MODEL_MIRROR) with the bytes of the @vladmandic/human package, throttled so the first use
// really downloads both files over HTTP with progress; the second use finds the worker warm.
// Another origin serves one photo with CORS (the page reads it) and one without (the backend is
// asked to fetch it, and refuses: it is on this machine).

const MODEL_DIR = join(REPO_ROOT, 'node_modules/@vladmandic/human/models');
const OFFICIAL = '/npm/@vladmandic/human@3.3.6/models';
const PHOTOS = join(REPO_ROOT, 'test/fixtures/photos');

test.describe.configure({ mode: 'serial', timeout: 120_000 });

let gateway: ExampleGateway;
let modelHost: TestSite;
let site: TestSite;
let other: TestSite;
let browser: Browser;

/** Sends the body in 64 KiB pieces every 50 ms (~1.3 MB/s): a download long enough for the page to show its progress. */
function throttled(body: Buffer): Handler {
  return (_request, response: ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    let offset = 0;
    const timer = setInterval(() => {
      if (response.destroyed || offset >= body.length) return void clearInterval(timer);
      response.write(body.subarray(offset, (offset += 64 * 1024)));
      if (offset >= body.length) response.end();
    }, 50);
  };
}

const jpeg = (body: Buffer, headers: Record<string, string> = {}): Handler => respond(200, { 'content-type': 'image/jpeg', ...headers }, body);

/** A page under the strict policy, but allowed to show images from `imageOrigin` too. */
function photoPage(body: string, imageOrigin: string): Handler {
  const csp = STRICT_CSP.replace("img-src 'self'", `img-src 'self' ${imageOrigin}`);
  return respond(
    200,
    { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp },
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Super Vision test</title><link rel="stylesheet" href="/hostile.css"><link rel="stylesheet" href="/site.css"></head><body>${body}</body></html>`,
  );
}

test.beforeAll(async () => {
  const dog = await readFile(join(PHOTOS, 'dog.jpg'));
  const person = await readFile(join(PHOTOS, 'person.jpg'));
  modelHost = await startTestSite(
    {
      [`${OFFICIAL}/centernet.json`]: throttled(await readFile(join(MODEL_DIR, 'centernet.json'))),
      [`${OFFICIAL}/centernet.bin`]: throttled(await readFile(join(MODEL_DIR, 'centernet.bin'))),
    },
    { https: false },
  );
  other = await startTestSite({
    '/person-cors.jpg': jpeg(person, { 'access-control-allow-origin': '*' }),
    '/dog-no-cors.jpg': jpeg(dog),
  });
  site = await startTestSite({
    '/hostile.css': hostileCss,
    // The dog photo is shown at half its size by CSS; the person photo comes through srcset (640w shown at 320px: density 2).
    '/site.css': respond(200, { 'content-type': 'text/css' }, 'img { display: block; margin: 40px 0 160px 20px; } #dog { width: 384px; height: auto; }'),
    '/dog.jpg': jpeg(dog),
    '/person.jpg': jpeg(person),
    '/photos': photoPage(
      `<main><h1>Photos</h1><img id="dog" src="/dog.jpg" alt="a dog"><img id="person" src="/missing.jpg" srcset="/person.jpg 640w" sizes="320px" alt="a walk"></main>`,
      'https://localhost:*',
    ),
    '/elsewhere': photoPage(`<main><img id="cors" src="${other.origin}/person-cors.jpg" alt="from another site, with CORS"><img id="nocors" src="${other.origin}/dog-no-cors.jpg" alt="from another site, no CORS"></main>`, other.origin),
  });
  gateway = await startExampleGateway({ env: { AIPLUGS_MODEL_MIRROR: modelHost.origin } });
  browser = await launchThroughProxy(gateway.ready.proxyUrl, gateway.ready.caSpki);
});

test.afterAll(async () => {
  await browser?.close();
  expect(await gateway?.close()).toBe(0);
  for (const server of [modelHost, site, other]) await server?.close();
});

/** Hovers the image and clicks "Detect objects"; returns the image's panel. */
async function detect(page: Page, selector: string) {
  await pluginStarted(page, 'aiplugs-super-vision');
  await expect(page.locator(selector)).toHaveJSProperty('complete', true);
  await page.hover(selector);
  await expectVisible(page, 'aiplugs-super-vision button.detect');
  await page.locator('aiplugs-super-vision button.detect').click();
  return page.locator('aiplugs-super-vision .panel');
}

/** The boxes drawn over the page, in viewport pixels, with their labels. */
async function drawnBoxes(page: Page) {
  return page.locator('aiplugs-super-vision .box').evaluateAll((boxes) =>
    boxes.map((box) => {
      const rect = box.getBoundingClientRect();
      return { label: (box as HTMLElement).dataset.label ?? '', left: rect.left, top: rect.top, width: rect.width, height: rect.height };
    }),
  );
}

/** The centre of the drawn box labelled `label` lies inside `region` (fractions of the image's shown rectangle). */
async function expectBoxOver(page: Page, imageSelector: string, label: string, region: { left: number; top: number; right: number; bottom: number }) {
  const image = (await page.locator(imageSelector).boundingBox())!;
  const boxes = (await drawnBoxes(page)).filter((box) => box.label === label);
  const centred = boxes.some((box) => {
    const x = (box.left + box.width / 2 - image.x) / image.width;
    const y = (box.top + box.height / 2 - image.y) / image.height;
    return x >= region.left && x <= region.right && y >= region.top && y <= region.bottom;
  });
  expect(centred, `a ${label} box centred in ${JSON.stringify(region)} of ${imageSelector}: ${JSON.stringify(boxes)}, image ${JSON.stringify(image)}`).toBe(true);
}

test('first use downloads the model with progress, then boxes appear over the CSS-scaled photo', async () => {
  const page = await browser.newPage();
  const consoleErrors = collectConsoleErrors(page);
  await goto(page, `${site.origin}/photos`);
  const panel = await detect(page, '#dog');
  await expect(panel).toHaveAttribute('data-state', 'working');
  // The page polls the model's progress and shows it: the first message may already be replaced by it.
  await expect(panel.locator('.message')).toHaveText(/first use downloads the detector model|Downloading the detector model/);
  await expect(panel.locator('.message')).toHaveText(/^Downloading the detector model: \d+% \(\d+\.\d of \d+\.\d MB\)$/, { timeout: 60_000 });

  // A hang guard for download + worker start + model load, not a timing claim.
  await expect(panel).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  await expect(panel.locator('.title')).toHaveText(/^\d+ objects · CenterNet · \d+ ms$/);
  const labels = await panel.locator('li').evaluateAll((items) => items.map((item) => item.firstChild?.textContent ?? ''));
  expect(labels).toEqual(expect.arrayContaining(['dog', 'bicycle', 'car']));
  expect(await page.locator('aiplugs-super-vision .box').count()).toBe(labels.length);
  await expectVisible(page, 'aiplugs-super-vision .box .tag');
  await expect(page.locator('aiplugs-super-vision .box .tag').first()).toHaveText(/^[a-z ]+ \d+%$/);

  // The photo is shown at 384 × 288 (half size): the boxes sit over the dog (lower left), the
  // bicycle (middle) and the pickup (upper right) of what is on screen.
  const shown = (await page.locator('#dog').boundingBox())!;
  expect([Math.round(shown.width), Math.round(shown.height)]).toEqual([384, 288]);
  await expectBoxOver(page, '#dog', 'dog', { left: 0.15, top: 0.45, right: 0.4, bottom: 0.85 });
  await expectBoxOver(page, '#dog', 'bicycle', { left: 0.3, top: 0.35, right: 0.6, bottom: 0.65 });
  await expectBoxOver(page, '#dog', 'car', { left: 0.65, top: 0.1, right: 0.95, bottom: 0.35 });

  // Both files went over HTTP from the "official" URLs, with progress, and the backend loaded them.
  expect(modelHost.requests.map((request) => request.path).sort()).toEqual([`${OFFICIAL}/centernet.bin`, `${OFFICIAL}/centernet.json`]);
  const states = progressStates(gateway, 'super-vision');
  expect(states).toContain('downloading');
  expect(states.at(-1)).toBe('ready');
  const binProgress = gateway.events.filter((event) => event.type === 'model-progress' && event.filename === 'centernet.bin' && event.state === 'downloading').map((event) => event.receivedBytes ?? 0);
  expect(binProgress.length).toBeGreaterThan(1);
  expect(binProgress.at(-1)).toBeGreaterThan(binProgress[0]!);
  expect(gateway.log()).toContain(`super-vision: loaded CenterNet ${join(gateway.modelsDir, 'centernet.json')} + ${join(gateway.modelsDir, 'centernet.bin')}`);
  expect(consoleErrors.filter((text) => /Content Security Policy|TrustedHTML|Trusted Type/i.test(text))).toEqual([]);

  // The list and the boxes go together on Close; the page's own content was never touched.
  await panel.getByRole('button', { name: 'Close' }).click();
  await expect(panel).toHaveCount(0);
  await expect(page.locator('aiplugs-super-vision .box')).toHaveCount(0);
  expect(await page.locator('main').evaluate((main) => main.children.length)).toBe(3);
});

test('a second use is served warm: no download, no model load, and srcset images work', async () => {
  const requestsBefore = modelHost.requests.length;
  const loadsBefore = gateway.log().split('super-vision: loaded CenterNet').length;
  const page = await browser.newPage();
  await goto(page, `${site.origin}/photos`);
  await expect(page.locator('#person')).toHaveJSProperty('currentSrc', `${site.origin}/person.jpg`);
  await expect(page.locator('#person')).toHaveJSProperty('naturalWidth', 320);
  const panel = await detect(page, '#person');
  await expect(panel).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expectBoxOver(page, '#person', 'person', { left: 0.3, top: 0.3, right: 0.45, bottom: 0.7 });
  await expectBoxOver(page, '#person', 'dog', { left: 0.1, top: 0.6, right: 0.3, bottom: 0.85 });
  expect(modelHost.requests.length).toBe(requestsBefore);
  expect(gateway.log().split('super-vision: loaded CenterNet').length).toBe(loadsBefore);
});

test('an image from another origin that allows CORS is read by the page and gets its boxes', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/elsewhere`);
  const panel = await detect(page, '#cors');
  await expect(panel).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expectBoxOver(page, '#cors', 'person', { left: 0.3, top: 0.3, right: 0.45, bottom: 0.7 });
  // The page read it again as a CORS request (with an Origin), and the backend fetched nothing.
  const corsReads = other.requests.filter((request) => request.path === '/person-cors.jpg' && request.headers.origin === site.origin);
  expect(corsReads.length).toBeGreaterThan(0);
  expect(other.requests.filter((request) => String(request.headers['user-agent']).includes('AiPlugs'))).toEqual([]);
});

test('an image from another origin without CORS is not fetched by the backend from a local address: the panel says why', async () => {
  const page = await browser.newPage();
  await goto(page, `${site.origin}/elsewhere`);
  const panel = await detect(page, '#nocors');
  await expect(panel).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
  await expect(panel.locator('.message')).toHaveText(/^Could not read this image: AiPlugs fetches images for pages only from public internet addresses/);
  await expect(page.locator('aiplugs-super-vision .box')).toHaveCount(0);
  expect(other.requests.filter((request) => String(request.headers['user-agent']).includes('AiPlugs'))).toEqual([]);
  expect(gateway.log()).toContain(`super-vision: ${other.origin}/dog-no-cors.jpg: AiPlugs fetches images for pages only from public internet addresses`);
});

test('offline, with the model absent and no copy to fall back on, the panel says what to do', async () => {
  // The plugin as shipped, minus its package mirrors: offline, nothing can provide the files.
  const pluginsDir = await mkdtemp(join(tmpdir(), 'aiplugs-e2e-vision-offline-'));
  const copy = join(pluginsDir, 'super-vision');
  await cp(join(REPO_ROOT, 'plugins/super-vision'), copy, { recursive: true });
  const manifest = JSON.parse(await readFile(join(copy, 'manifest.json'), 'utf8')) as { inference: { models: Array<{ mirrors: string[] }> } };
  for (const model of manifest.inference.models) model.mirrors = [];
  await writeFile(join(copy, 'manifest.json'), JSON.stringify(manifest));
  const offline = await startExampleGateway({ pluginsDir, env: { AIPLUGS_OFFLINE: '1' } });
  const offlineBrowser = await launchThroughProxy(offline.ready.proxyUrl, offline.ready.caSpki);
  try {
    const page = await offlineBrowser.newPage();
    await goto(page, `${site.origin}/photos`);
    const panel = await detect(page, '#dog');
    await expect(panel).toHaveAttribute('data-state', 'error', { timeout: 30_000 });
    await expect(panel.locator('.message')).toHaveText(/object detector model is not downloaded and could not be fetched now \(offline\?\).*aiplugs models pull super-vision/);
    expect(offline.log()).toMatch(/super-vision/);
    expect(modelHost.requests.length).toBe(2); // the first test's two downloads, nothing since
  } finally {
    await offlineBrowser.close();
    expect(await offline.close()).toBe(0);
    await rm(pluginsDir, { recursive: true, force: true });
  }
});
