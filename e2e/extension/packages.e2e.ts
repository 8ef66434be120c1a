// The packaged extension (`npm run build:extension`, which `npm test` runs first): versioned zips
// for Chromium and Firefox, and the sources zip a store reviewer rebuilds the Firefox one from.
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect, test } from '@playwright/test';
import { REPO_ROOT } from '../support/gateway-process.js';
import { runProcess } from '../support/run-process.js';

// A wxt build from the extracted sources on a busy 2-core machine.
test.describe.configure({ timeout: 120_000 });

const OUTPUT = join(REPO_ROOT, 'extension/.output');

/** Extracts a zip (Python's zipfile: python3 is on every machine the suite runs on). */
async function unzip(zip: string, into: string): Promise<void> {
  const result = await runProcess('python3', ['-m', 'zipfile', '-e', zip, into], { cwd: REPO_ROOT });
  expect(result.code, result.stderr).toBe(0);
}

/** Every file under `dir` with its bytes, by relative path. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path));
  }
  return files;
}

function expectSameTree(actual: Map<string, Buffer>, expected: Map<string, Buffer>, what: string): void {
  expect([...actual.keys()].sort(), what).toEqual([...expected.keys()].sort());
  const differing = [...expected].filter(([path, bytes]) => !actual.get(path)?.equals(bytes)).map(([path]) => path);
  expect(differing, `${what}: files whose bytes differ`).toEqual([]);
}

let version: string;
let work: string;
test.beforeAll(async () => {
  version = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  work = await mkdtemp(join(tmpdir(), 'aiplugs-extension-zips-'));
});
test.afterAll(async () => rm(work, { recursive: true, force: true }));

for (const browser of ['chrome', 'firefox'] as const) {
  test(`the ${browser} zip is the ${browser}-mv3 build, versioned like the gateway`, async () => {
    const into = join(work, browser);
    await unzip(join(OUTPUT, `aiplugs-${version}-${browser}.zip`), into);
    const manifest = JSON.parse(await readFile(join(into, 'manifest.json'), 'utf8')) as { version: string; manifest_version: number };
    expect(manifest).toMatchObject({ version, manifest_version: 3 });
    expectSameTree(await tree(into), await tree(join(OUTPUT, `${browser}-mv3`)), `aiplugs-${version}-${browser}.zip`);
  });
}

test('the sources zip rebuilds the Firefox extension byte for byte', async () => {
  const sources = join(work, 'sources');
  await unzip(join(OUTPUT, `aiplugs-${version}-sources.zip`), sources);
  // The reviewer's `npm ci`, without the download: this repository's installed packages.
  await symlink(join(REPO_ROOT, 'node_modules'), join(sources, 'node_modules'), 'dir');
  const build = await runProcess(process.execPath, [join(REPO_ROOT, 'node_modules/wxt/bin/wxt.mjs'), 'build', 'extension', '-b', 'firefox', '--mv3'], { cwd: sources });
  expect(build.code, build.stdout + build.stderr).toBe(0);
  expectSameTree(await tree(join(sources, 'extension/.output/firefox-mv3')), await tree(join(OUTPUT, 'firefox-mv3')), 'the rebuild from sources');
});
