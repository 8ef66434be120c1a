import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { VERSION } from '../version.js';
import { registerPluginNewCommand } from './commands/plugin-new.js';
import { registerStartCommand } from './commands/start.js';

/** Exit codes that mean something to scripts. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, notRunning: 4 } as const;

export function buildProgram(): Command {
  const program = new Command()
    .name('aiplugs')
    .description('AiPlugs: a local gateway that injects AI plugins into the pages you browse')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  registerStartCommand(program);
  registerPluginNewCommand(program);
  return program;
}

/** Runs the CLI; turns known errors into one clear line and a meaningful exit code. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`aiplugs: ${error.message}\n`);
      process.exitCode = EXIT.config;
      return;
    }
    process.stderr.write(`aiplugs: ${(error as Error).message}\n`);
    process.exitCode = EXIT.failure;
  }
}
