import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { openUrlCommand, writeDashboardOpener } from './dashboard.js';

describe('aiplugs dashboard --open', () => {
  it("hands the opener a page of yours alone that goes on to the one-time link, never the link itself (every account can read a command line)", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'aiplugs-opener-'));
    const url = 'http://127.0.0.1:5000/login?code=Secret_Code-123&x=1';
    const path = await writeDashboardOpener(dataDir, url);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.match(await readFile(path, 'utf8'), /<meta http-equiv="refresh" content="0; url=http:\/\/127\.0\.0\.1:5000\/login\?code=Secret_Code-123&amp;x=1">/);
    const command = openUrlCommand(pathToFileURL(path).href, 'linux');
    assert.ok(!JSON.stringify(command).includes('Secret_Code'), JSON.stringify(command));
    // A second --open replaces the page (with a fresh link).
    await writeDashboardOpener(dataDir, 'http://127.0.0.1:5000/login?code=Next');
    assert.match(await readFile(path, 'utf8'), /code=Next/);
  });
});
