import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const MAIN = new URL('../main.ts', import.meta.url).href;

/** `aiplugs plugins validate <dir>` from the sources, run in `dir` so it prints folders as `name`. */
function validate(dir: string): Promise<{ code: number; stdout: string }> {
  const script = `const { main } = await import(${JSON.stringify(MAIN)}); await main(['node', 'aiplugs', 'plugins', 'validate', '.']);`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { cwd: dir }, (error, stdout) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout });
    });
  });
}

async function plugin(dir: string, id: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'content.js'), '// content');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ manifest_version: 3, id, name: id, version: '1.0.0', content_scripts: [{ matches: ['<all_urls>'], js: ['content.js'] }] }));
}

describe('aiplugs plugins validate', () => {
  it('reports a folder that cannot load, or repeats an id, by its folder and leaves the valid plugin valid', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-validate-'));
    await mkdir(join(root, 'echo'));
    await plugin(join(root, 'echo-v2'), 'echo');
    await plugin(join(root, 'zz-echo-copy'), 'echo');
    const { code, stdout } = await validate(root);
    assert.equal(code, 5);
    assert.equal(
      stdout,
      [
        '✗ echo/ (echo)',
        '    manifest.json: cannot be read (ENOENT)',
        '    id: "echo" is already used by the plugin in folder "echo-v2"',
        '✓ echo 1.0.0 (echo-v2)',
        '✗ zz-echo-copy/ (zz-echo-copy)',
        '    id: "echo" is already used by the plugin in folder "echo-v2"',
        '',
        '2 of 3 plugin(s) have problems.',
        '',
      ].join('\n'),
    );
  });

  it('checks a plugin folder that is a symlink, and says what is wrong with a dangling one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'aiplugs-validate-'));
    await plugin(join(root, 'src', 'echo'), 'echo');
    await mkdir(join(root, 'plugins'));
    await symlink(join(root, 'src', 'echo'), join(root, 'plugins', 'echo'));
    await symlink(join(root, 'src', 'gone'), join(root, 'plugins', 'gone'));
    const { code, stdout } = await validate(join(root, 'plugins'));
    assert.equal(code, 5);
    assert.equal(
      stdout,
      ['✓ echo 1.0.0 (echo)', '✗ gone (gone)', `    a symlink to "${join(root, 'src', 'gone')}", which does not exist`, '', '1 of 2 plugin(s) have problems.', ''].join('\n'),
    );
  });
});
