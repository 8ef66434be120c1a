/**
 * The `aiplugs/playwright` example (docs/CLI.md; the e2e suite runs it), plain JavaScript for
 * plain Node — in this repository, or in a project with `aiplugs` and `@playwright/test` installed:
 *
 *   node docs/examples/playwright.mjs https://example.com/
 *
 * Opens the page with AiPlugs plugins injected and prints one JSON line: the page title, the
 * plugins that run on it, the gateway's API address, and whether it attached to a running gateway.
 */
import { launchWithAiPlugs } from 'aiplugs/playwright';

const url = process.argv[2] ?? 'https://example.com/';
const aiplugs = await launchWithAiPlugs();
try {
  const page = await aiplugs.context.newPage();
  await page.goto(url);
  const plugins = await page.evaluate(() => window.AiPlugs?.plugins ?? []);
  process.stdout.write(`${JSON.stringify({ title: await page.title(), plugins, gateway: aiplugs.gateway.apiUrl, attached: aiplugs.gateway.attached })}\n`);
} finally {
  await aiplugs.close();
}
