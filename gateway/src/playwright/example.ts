/**
 * The `aiplugs/playwright` example (docs/CLI.md; the e2e suite runs it):
 *
 *   node --import tsx gateway/src/playwright/example.ts https://example.com/
 *
 * Opens the page with AiPlugs plugins injected and prints one JSON line: the page title, the
 * plugins that run on it, and what the echo plugin put on the page.
 */
import { launchWithAiPlugs } from 'aiplugs/playwright';

const url = process.argv[2] ?? 'https://example.com/';
const aiplugs = await launchWithAiPlugs();
try {
  const page = await aiplugs.context.newPage();
  await page.goto(url);
  const plugins = await page.evaluate(() => (window as unknown as { AiPlugs?: { plugins: string[] } }).AiPlugs?.plugins ?? []);
  process.stdout.write(`${JSON.stringify({ title: await page.title(), plugins, gateway: aiplugs.gateway.apiUrl, attached: aiplugs.gateway.attached })}\n`);
} finally {
  await aiplugs.close();
}
