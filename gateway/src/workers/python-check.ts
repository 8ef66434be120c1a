import type { Logger } from '../events/logger.js';
import { runCommand, type CommandRunner } from '../os/run-command.js';
import type { PluginRecord } from '../plugins/plugin-registry.js';
import { pythonFor } from './backend-command.js';

/** The oldest Python the worker host supports. */
const MIN_PYTHON: readonly [number, number] = [3, 9];

export type PythonProbe = { ok: true; version: string } | { ok: false; problem: string };

/** Runs `<python> --version`: whether the configured interpreter runs, and is new enough. */
export async function probePython(python: string, run: CommandRunner = runCommand): Promise<PythonProbe> {
  const result = await run({ file: python, args: ['--version'] }).catch(() => null);
  const version = /Python (\d+)\.(\d+)(\.\d+)?/.exec(`${result?.stdout ?? ''} ${result?.stderr ?? ''}`);
  if (!result || result.code !== 0 || !version) return { ok: false, problem: `"${python}" does not run` };
  const [major, minor] = [Number(version[1]), Number(version[2])];
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) return { ok: false, problem: `${version[0]} ("${python}") is older than ${MIN_PYTHON.join('.')}` };
  return { ok: true, version: version[0] };
}

/** Enabled plugins whose backend is Python and that run on the configured interpreter (no venv of their own). */
export function pluginsNeedingPython(records: readonly PluginRecord[], python: string): string[] {
  return records.flatMap((record) => {
    const entry = record.status === 'enabled' ? record.manifest.inference?.local_entry : undefined;
    return entry?.endsWith('.py') && pythonFor(record.dir, python) === python ? [record.id] : [];
  });
}

export const PYTHON_FIX = 'install Python 3.9+ (Debian: `apt-get install python3`) or point workers.python / AIPLUGS_WORKERS_PYTHON at it';

/**
 * At start: a missing Python would otherwise show only at a plugin's first call. Says which
 * plugins it stops; says nothing when none needs it or it runs.
 */
export async function warnIfPythonMissing(options: { records: readonly PluginRecord[]; python: string; logger: Logger; run?: CommandRunner }): Promise<void> {
  const needing = pluginsNeedingPython(options.records, options.python);
  if (needing.length === 0) return;
  const probe = await probePython(options.python, options.run);
  if (!probe.ok) options.logger.warn(`${probe.problem}: the Python backends of ${needing.join(', ')} cannot start. Fix: ${PYTHON_FIX}`);
}
