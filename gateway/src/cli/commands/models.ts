/**
 * `aiplugs models list | pull <plugin|all> | verify | gc`.
 *
 * Progress bars come from cli-progress: the most used terminal progress library on npm (~25M
 * weekly downloads), maintained, with multi-bar support (several models download at once) and
 * only one small dependency. It draws on stderr only when stderr is a TTY; otherwise we print
 * plain lines, so logs and CI output stay readable.
 */
import { createInterface } from 'node:readline/promises';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Logger } from '../../events/logger.js';
import { parsePathArgument } from './cli-context.js';
import type { ModelProvisioner, ModelStatus, PluginWithModels } from '../../models/model-provisioner.js';
import { describeProgress, formatBytes, formatDuration, type ModelProgress } from '../../models/progress-meter.js';
import type { PluginRecord } from '../../plugins/plugin-registry.js';

/** What the command needs from the composition root. */
export interface ModelsCommandContext {
  provisioner: ModelProvisioner;
  registry: { list(): PluginRecord[]; get(id: string): PluginRecord | undefined };
  logger: Logger;
}

/** Flags of `aiplugs models`, passed to `load` so it can build the provisioner for that folder. */
export interface ModelsCommandFlags {
  modelsDir?: string;
  pluginsDir?: string;
  config?: string;
}

/** Where the command writes and how it asks; tests replace it. */
export interface ModelsCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (bars) or not (plain lines). */
  isTTY: boolean;
  /** Asks a yes/no question; undefined when nobody can answer (no TTY on stdin). */
  confirm: ((question: string) => Promise<boolean>) | undefined;
}

const defaultIo = (): ModelsCommandIo => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stderr.isTTY),
  confirm: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
        } finally {
          rl.close();
        }
      }
    : undefined,
});

const enabledPlugins = (records: PluginRecord[]): PluginWithModels[] =>
  records.flatMap((record) => (record.status === 'enabled' ? [record] : []));

/** Pads columns for a plain-text table (no dependency for this). */
function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')).join('\n') + '\n';
}

function stateText(status: ModelStatus): string {
  if (status.state === 'downloading') return status.percent !== null ? `downloading ${status.percent}%` : 'downloading';
  if (status.state === 'missing' && status.receivedBytes) return `missing (${formatBytes(status.receivedBytes)} partial)`;
  return status.state;
}

/**
 * Shows progress for several files: one cli-progress bar each on a terminal, otherwise a plain
 * line per file at most every 5 s (and on every state change).
 */
function createProgressView(io: ModelsCommandIo, verb: string) {
  if (io.isTTY) {
    const multibar = new MultiBar(
      {
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
        format: '{filename} |{bar}| {percentage}% | {done} / {size} | {speed} | ETA {eta_text} | {state}',
      },
      Presets.shades_classic,
    );
    const bars = new Map<string, SingleBar>();
    return {
      update(progress: ModelProgress) {
        const total = progress.totalBytes ?? Math.max(progress.receivedBytes, 1);
        const payload = {
          filename: progress.filename,
          done: formatBytes(progress.receivedBytes),
          size: progress.totalBytes !== null ? formatBytes(progress.totalBytes) : '?',
          speed: progress.bytesPerSecond > 0 ? `${formatBytes(progress.bytesPerSecond)}/s` : '-',
          eta_text: progress.etaSeconds !== null ? formatDuration(progress.etaSeconds) : '-',
          state: progress.state === 'verifying' ? 'verifying' : progress.state,
        };
        let bar = bars.get(progress.filename);
        if (!bar) {
          bar = multibar.create(total, progress.receivedBytes, payload);
          bars.set(progress.filename, bar);
        }
        bar.setTotal(total);
        bar.update(progress.receivedBytes, payload);
      },
      stop: () => multibar.stop(),
    };
  }
  const last = new Map<string, { at: number; state: string }>();
  return {
    update(progress: ModelProgress) {
      const previous = last.get(progress.filename);
      const now = Date.now();
      const final = progress.state === 'ready' || progress.state === 'failed';
      if (previous && previous.state === progress.state && now - previous.at < 5000 && !final) return;
      if (previous?.state === progress.state && final) return;
      last.set(progress.filename, { at: now, state: progress.state });
      const what = progress.state === 'downloading' || progress.state === 'verifying' ? `${progress.state} ${describeProgress(progress)}` : progress.state;
      io.stderr(`${verb} ${progress.filename} [${progress.plugins.join(', ')}]: ${what}\n`);
    },
    stop: () => undefined,
  };
}

/**
 * Registers `aiplugs models …` on `program`. `load` is called once per invocation, after the
 * flags are parsed, and builds the provisioner, registry and logger the gateway would use.
 *
 * @example
 *   registerModelsCommand(program, async (flags) => {
 *     const config = await loadConfig({ env: process.env, overrides: modelsFlagAssignments(flags) });
 *     … return { provisioner, registry, logger };
 *   });
 */
export function registerModelsCommand(
  program: Command,
  load: (flags: ModelsCommandFlags) => Promise<ModelsCommandContext>,
  io: ModelsCommandIo = defaultIo(),
): Command {
  const models = program
    .command('models')
    .description('list, download, verify and clean up the models plugins declare')
    .option('--models-dir <dir>', 'central models folder (default: from config / AIPLUGS_MODELS_DIR)', parsePathArgument)
    .option('--plugins-dir <dir>', 'plugins folder (default: from config)', parsePathArgument)
    .option('--config <file>', 'a user config file layered over config/config.json', parsePathArgument);
  const context = (command: Command) => load(command.optsWithGlobals<ModelsCommandFlags>());

  models
    .command('list')
    .description('every declared model with its state (missing, downloading, ready, corrupt, …) and size')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { provisioner, registry } = await context(command);
      const statuses = await provisioner.list(enabledPlugins(registry.list()));
      if (flags.json) return io.stdout(`${JSON.stringify(statuses, null, 2)}\n`);
      if (statuses.length === 0) return io.stdout('No plugin declares a model.\n');
      const rows = statuses.map((status) => [
        stateText(status),
        status.sizeOnDisk !== null ? formatBytes(status.sizeOnDisk) : status.declaredSize !== null ? formatBytes(status.declaredSize) : '?',
        status.filename,
        status.plugins.map((plugin) => `${plugin.id} (${plugin.key})`).join(', '),
      ]);
      io.stdout(table([['STATE', 'SIZE', 'FILE', 'PLUGINS'], ...rows]));
      io.stdout(`models folder: ${provisioner.modelsDir}${provisioner.offline ? ' (offline mode)' : ''}\n`);
      const errors = statuses.filter((status) => status.error);
      for (const status of errors) io.stdout(`  ${status.filename}: ${status.error?.message}\n`);
    });

  models
    .command('pull')
    .description('download (or verify) the models of one plugin, or of all plugins')
    .argument('<plugin>', 'a plugin id, or "all"')
    .option('--json', 'print the outcome as JSON')
    .action(async (target: string, flags: { json?: boolean }, command: Command) => {
      const { provisioner, registry } = await context(command);
      let plugins: PluginWithModels[];
      if (target === 'all') {
        plugins = enabledPlugins(registry.list()).filter((plugin) => (plugin.manifest.inference?.models.length ?? 0) > 0);
      } else {
        const record = registry.get(target);
        if (!record) {
          io.stderr(`aiplugs: no plugin "${target}" (known: ${registry.list().map((r) => r.id).join(', ') || 'none'})\n`);
          process.exitCode = 1;
          return;
        }
        if (record.status !== 'enabled') {
          io.stderr(`aiplugs: plugin "${target}" failed to load:\n  ${record.errors.join('\n  ')}\n`);
          process.exitCode = 1;
          return;
        }
        plugins = [record];
      }
      if (plugins.length === 0) return io.stdout('No plugin declares a model.\n');
      const view = createProgressView(io, 'pull');
      const controller = new AbortController();
      // Ctrl-C stops cleanly: the partial download stays and the next pull resumes it.
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      let results;
      try {
        results = await provisioner.pull(plugins, { quiet: true, signal: controller.signal, onProgress: (progress) => view.update(progress) });
      } finally {
        view.stop();
        process.removeListener('SIGINT', onSigint);
      }
      if (flags.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
      else {
        for (const result of results) {
          if (result.ok) {
            const lines = Object.entries(result.env).map(([key, path]) => `    ${key}=${path}`);
            io.stdout(`ok  ${result.plugin}${lines.length ? `\n${lines.join('\n')}` : ' (no models)'}\n`);
          } else {
            io.stdout(`ERR ${result.plugin}: [${result.error?.code}] ${result.error?.message}\n`);
          }
        }
      }
      if (results.some((result) => !result.ok)) process.exitCode = 1;
    });

  models
    .command('verify')
    .description('re-hash every present model file and compare with its declared SHA-256 (exit 1 on a mismatch)')
    .option('--json', 'print JSON instead of a table')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { provisioner, registry } = await context(command);
      const view = createProgressView(io, 'verify');
      let results;
      try {
        results = await provisioner.verify(enabledPlugins(registry.list()), { onProgress: (progress) => view.update(progress) });
      } finally {
        view.stop();
      }
      if (flags.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
      else if (results.length === 0) io.stdout('No plugin declares a model.\n');
      else {
        io.stdout(table([['STATE', 'FILE', 'PLUGINS'], ...results.map((result) => [result.state, result.filename, result.plugins.join(', ')])]));
        for (const result of results.filter((r) => r.state === 'corrupt')) {
          io.stdout(`  ${result.filename}: expected ${result.expectedSha256}, found ${result.actualSha256}; the next pull moves it aside and downloads it again\n`);
        }
      }
      if (results.some((result) => result.state === 'corrupt' || result.state === 'conflict')) process.exitCode = 1;
    });

  models
    .command('gc')
    .description('remove files in the models folder that no plugin declares (asks first)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--dry-run', 'only show what would be removed')
    .option('--json', 'print JSON')
    .action(async (flags: { yes?: boolean; dryRun?: boolean; json?: boolean }, command: Command) => {
      const { provisioner, registry } = await context(command);
      const broken = registry.list().filter((record) => record.status === 'error');
      if (broken.length > 0) {
        io.stderr(`warning: ${broken.map((record) => record.id).join(', ')} failed to load; files only they declare count as undeclared\n`);
      }
      const plugins = enabledPlugins(registry.list());
      const plan = await provisioner.gc(plugins, { dryRun: true });
      const describe = () =>
        plan.removed.map((entry) => `  ${entry.name}  ${formatBytes(entry.bytes)}`).concat(plan.skipped.map((entry) => `  (kept ${entry.name}: ${entry.reason})`));
      if (plan.removed.length === 0) {
        if (flags.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
        else io.stdout(`Nothing to remove in ${provisioner.modelsDir}.\n${plan.skipped.length ? `${describe().join('\n')}\n` : ''}`);
        return;
      }
      if (flags.dryRun) {
        if (flags.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
        else io.stdout(`Would remove ${plan.removed.length} file(s), ${formatBytes(plan.bytes)}:\n${describe().join('\n')}\n`);
        return;
      }
      if (!flags.yes) {
        io.stderr(`Files no plugin declares in ${provisioner.modelsDir}:\n${describe().join('\n')}\n`);
        if (!io.confirm) {
          io.stderr('aiplugs: not removing anything without confirmation; re-run with --yes\n');
          process.exitCode = 2;
          return;
        }
        if (!(await io.confirm(`Remove ${plan.removed.length} file(s), ${formatBytes(plan.bytes)}?`))) {
          io.stderr('Nothing removed.\n');
          return;
        }
      }
      const done = await provisioner.gc(plugins);
      if (flags.json) io.stdout(`${JSON.stringify(done, null, 2)}\n`);
      else io.stdout(`Removed ${done.removed.length} file(s), ${formatBytes(done.bytes)}.\n`);
    });

  return models;
}
