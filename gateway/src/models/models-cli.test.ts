import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { Command } from 'commander';
import { registerModelsCommand, type ModelsCommandFlags, type ModelsCommandIo } from '../cli/commands/models.js';
import { createEventBus } from '../events/event-bus.js';
import { createLogger } from '../events/logger.js';
import { createPluginRegistry } from '../plugins/plugin-registry.js';
import { createModelProvisioner } from './model-provisioner.js';
import { randomContent, sha256Hex, startModelServer } from './testing/model-test-server.js';

async function setup(t: TestContext, answer?: boolean) {
  const root = await mkdtemp(join(tmpdir(), 'aiplugs-cli-'));
  const server = await startModelServer();
  t.after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  const content = randomContent(16 * 1024);
  server.files.set('/m.bin', { content });
  const pluginsDir = join(root, 'plugins');
  await mkdir(join(pluginsDir, 'p'), { recursive: true });
  await writeFile(
    join(pluginsDir, 'p', 'manifest.json'),
    JSON.stringify({
      manifest_version: 3,
      id: 'p',
      name: 'P',
      version: '1.0.0',
      inference: { default_mode: 'local', models: [{ key: 'MODEL', filename: 'm.bin', source_url: server.url('/m.bin'), sha256: sha256Hex(content) }] },
    }),
  );
  const out = { stdout: '', stderr: '' };
  const io: ModelsCommandIo = {
    stdout: (text) => (out.stdout += text),
    stderr: (text) => (out.stderr += text),
    isTTY: false,
    confirm: answer === undefined ? undefined : async () => answer,
  };
  const seenFlags: ModelsCommandFlags[] = [];
  const program = new Command().exitOverride();
  registerModelsCommand(
    program,
    async (flags) => {
      seenFlags.push(flags);
      const bus = createEventBus();
      const logger = createLogger({ bus, level: 'warn', write: (line) => (out.stderr += `${line}\n`) });
      const registry = await createPluginRegistry({ pluginsDir: flags.pluginsDir ?? pluginsDir });
      const provisioner = createModelProvisioner({ modelsDir: flags.modelsDir ?? join(root, 'default-models'), bus, logger });
      return { provisioner, registry, logger };
    },
    io,
  );
  const modelsDir = join(root, 'models');
  const run = async (...args: string[]) => {
    out.stdout = '';
    out.stderr = '';
    await program.parseAsync(['node', 'aiplugs', 'models', '--models-dir', modelsDir, ...args]);
    return out;
  };
  return { run, modelsDir, seenFlags };
}

describe('aiplugs models', () => {
  afterEach(() => {
    process.exitCode = 0;
  });

  it('lists, pulls with plain progress lines off a TTY, and verifies', async (t) => {
    const { run, modelsDir, seenFlags } = await setup(t);
    assert.match((await run('list')).stdout, /missing\s+\?\s+m\.bin\s+p \(MODEL\)/);
    assert.equal(seenFlags[0]?.modelsDir, modelsDir);
    const pulled = await run('pull', 'p');
    assert.match(pulled.stdout, new RegExp(`ok  p\\n    MODEL=${join(modelsDir, 'm.bin')}`));
    assert.match(pulled.stderr, /pull m\.bin \[p\]: ready/);
    assert.ok(existsSync(join(modelsDir, 'm.bin')));
    assert.match((await run('list')).stdout, /ready\s+16\.0 KiB\s+m\.bin/);
    assert.match((await run('verify')).stdout, /ready\s+m\.bin\s+p/);
    assert.equal(process.exitCode ?? 0, 0);
  });

  it('exits 1 when a pull fails, naming the reason', async (t) => {
    const { run } = await setup(t);
    const out = await run('pull', 'nope');
    assert.match(out.stderr, /no plugin "nope"/);
    assert.equal(process.exitCode, 1);
  });

  it('gc refuses without confirmation when nobody can answer, and removes with --yes', async (t) => {
    const { run, modelsDir } = await setup(t);
    await mkdir(modelsDir, { recursive: true });
    await writeFile(join(modelsDir, 'orphan.bin'), 'x');
    assert.match((await run('gc', '--dry-run')).stdout, /Would remove 1 file\(s\), 1 B:\n {2}orphan\.bin/);
    const refused = await run('gc');
    assert.match(refused.stderr, /re-run with --yes/);
    assert.equal(process.exitCode, 2);
    assert.ok(existsSync(join(modelsDir, 'orphan.bin')));
    process.exitCode = 0;
    assert.match((await run('gc', '--yes')).stdout, /Removed 1 file/);
    assert.ok(!existsSync(join(modelsDir, 'orphan.bin')));
  });

  it('gc asks on a terminal and respects "no"', async (t) => {
    const { run, modelsDir } = await setup(t, false);
    await mkdir(modelsDir, { recursive: true });
    await writeFile(join(modelsDir, 'orphan.bin'), 'x');
    assert.match((await run('gc')).stderr, /Nothing removed/);
    assert.ok(existsSync(join(modelsDir, 'orphan.bin')));
  });
});
