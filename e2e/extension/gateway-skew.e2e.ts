/**
 * A gateway of another version than the extension: it proves it holds the token, so the extension
 * trusts it, but its answers have another shape. The extension must say so in words a user can act
 * on, not fail on the answer deep inside ("x.map is not a function") or act on what it misread.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { expect, test } from '@playwright/test';
import { tokenProof } from '../../gateway/src/pairing/token-proof.js';
import { openPopup } from './support/extension-browser.js';
import { startPairedExtensionStack, type PairedExtensionStack } from './support/paired-stack.js';

let stack: PairedExtensionStack;
let skewed: Server | undefined;

test.beforeAll(async () => {
  stack = await startPairedExtensionStack();
});

test.afterAll(async () => {
  skewed?.closeAllConnections();
  skewed?.close();
  await stack?.close();
});

test('a paired gateway whose answers have another shape is named as another version in the popup', async () => {
  const { gateway, browser } = stack;
  const { apiPort, proxyPort } = gateway.ready;
  const token = await gateway.token();
  expect(await gateway.stop()).toBe(0);
  // On the gateway's own port, with its token: health and the proof as the gateway gives them, the rest in other shapes.
  skewed = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      void (async () => {
        const path = new URL(request.url ?? '/', 'http://x').pathname;
        const body =
          path === '/api/health'
            ? { status: 'ok', name: 'aiplugs', version: '9.0.0', apiPort, proxyPort }
            : path === '/api/pairing/proof'
              ? { proof: await tokenProof(token, apiPort, (JSON.parse(text) as { nonce: string }).nonce) }
              : path === '/api/settings'
                ? { paused: 'no', disabled_sites: 'none' }
                : { plugins: { echo: true } };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      })();
    });
  });
  skewed.listen(apiPort, '127.0.0.1');
  await once(skewed, 'listening');

  const popup = await openPopup(browser.context);
  const connection = popup.getByTestId('connection');
  await expect(connection).toHaveAttribute('data-state', 'down');
  await expect(connection).toContainText(`AiPlugs 9.0.0 at http://127.0.0.1:${apiPort} answers in a way this extension`);
  await expect(connection).toContainText('update whichever of the two is older');
  await popup.close();
});
