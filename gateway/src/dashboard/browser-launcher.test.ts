import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiError } from '../api/api-error.js';
import type { Logger } from '../events/logger.js';
import { createBrowserLauncher, lacksDisplay } from './browser-launcher.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const launcher = (env: NodeJS.ProcessEnv) =>
  createBrowserLauncher({ env, platform: 'linux', addresses: () => ({ apiUrl: 'http://127.0.0.1:1', proxyUrl: 'http://127.0.0.1:2' }), caSpki: 'spki', logger: silent });

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof ApiError, String(error));
  return error;
}

describe('the dashboard browser launcher', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiplugs-launcher-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('knows when no window can open', () => {
    assert.equal(lacksDisplay('linux', {}), true);
    assert.equal(lacksDisplay('linux', { DISPLAY: ':0' }), false);
    assert.equal(lacksDisplay('linux', { WAYLAND_DISPLAY: 'wayland-0' }), false);
    assert.equal(lacksDisplay('darwin', {}), false);
  });

  it('says in words that the configured browser does not exist', async () => {
    const error = await refusal(launcher({ AIPLUGS_BROWSER: join(dir, 'nope'), DISPLAY: ':0' }).launch(undefined));
    assert.equal(error.code, 'browser_not_found');
    assert.match(error.message, /No browser at .*nope \(set by AIPLUGS_BROWSER\)/);
  });

  it('says there is no display instead of starting a browser that dies', async () => {
    const script = join(dir, 'browser.sh');
    await writeFile(script, '#!/bin/sh\nexit 0\n');
    await chmod(script, 0o755);
    const error = await refusal(launcher({ AIPLUGS_BROWSER: script }).launch(undefined));
    assert.equal(error.code, 'no_display');
    assert.match(error.message, /no display/);
  });

  it('a browser that exits as it starts is reported with its own last words', async () => {
    const script = join(dir, 'broken.sh');
    await writeFile(script, '#!/bin/sh\necho "Missing X server or $DISPLAY" >&2\nexit 1\n');
    await chmod(script, 0o755);
    const error = await refusal(launcher({ AIPLUGS_BROWSER: script, DISPLAY: ':0' }).launch('https://example.com/'));
    assert.equal(error.code, 'browser_failed');
    assert.match(error.message, /exited with code 1 as it started; it said: Missing X server or/);
  });
});
