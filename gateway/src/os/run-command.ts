import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** The outcome of one external command: never throws for a non-zero exit, only for "not found". */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One external command, as data: what the trust-store and system-proxy modules ask the OS to do. */
export interface Command {
  file: string;
  args: string[];
  /** Extra environment for this command only. */
  env?: NodeJS.ProcessEnv;
  /** Text written to the command's stdin. */
  input?: string;
}

/**
 * Runs commands. Modules take one as an option so unit tests can record the exact commands
 * they would run on macOS or Windows without running them.
 */
export type CommandRunner = (command: Command) => Promise<CommandResult>;

export class CommandNotFoundError extends Error {
  override name = 'CommandNotFoundError';
  constructor(readonly file: string) {
    super(`"${file}" was not found on this machine`);
  }
}

/** Runs a command without a shell (arguments are passed as-is, nothing is interpolated). */
export const runCommand: CommandRunner = (command) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      command.file,
      command.args,
      { env: { ...process.env, ...command.env }, maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(new CommandNotFoundError(command.file));
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (command.input !== undefined) child.stdin?.end(command.input);
  });

/** Shows a command the way a user would type it (for logs, `--dry-run` and error messages). */
export function formatCommand(command: Command): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  return [command.file, ...command.args].map(quote).join(' ');
}

/** The first of `names` found on PATH (with PATHEXT on Windows), or null. */
export async function findOnPath(names: string[], env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const dirs = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const name of names) {
    for (const dir of dirs) {
      for (const extension of extensions) {
        const candidate = join(dir, name + extension);
        try {
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          // keep looking
        }
      }
    }
  }
  return null;
}

/** Throws with the command's own words when it failed. */
export function assertSucceeded(command: Command, result: CommandResult): CommandResult {
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ');
    throw new Error(`\`${formatCommand(command)}\` failed (exit ${result.code})${detail ? `: ${detail}` : ''}`);
  }
  return result;
}
