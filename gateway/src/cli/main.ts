import { Command, CommanderError } from 'commander';
import { restrictUmask } from '../data/restrict-umask.js';
import { VERSION } from '../version.js';
import { EXIT, reportCliFailure } from './cli-error.js';
import { registerBrowserCommand } from './commands/browser.js';
import { registerCaCommand } from './commands/ca.js';
import { registerDashboardCommand } from './commands/dashboard.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerModelsCommand } from './commands/models.js';
import { loadModelsContext } from './commands/models-context.js';
import { registerPluginNewCommand } from './commands/plugin-new.js';
import { registerPluginsCommand } from './commands/plugins.js';
import { registerProxyCommand } from './commands/proxy.js';
import { registerStartCommand } from './commands/start.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStopCommand } from './commands/stop.js';

export { EXIT } from './cli-error.js';

export function buildProgram(): Command {
  const program = new Command()
    .name('aiplugs')
    .description('AiPlugs: a local gateway that injects AI plugins into the pages you browse')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT.ok} ok, ${EXIT.failure} failure, ${EXIT.usage} usage error, ${EXIT.config} invalid config, ${EXIT.notRunning} gateway not running, ${EXIT.problems} problems found (doctor, plugins validate).\nEvery command has --help. Docs: docs/CLI.md`,
    );
  // Run the gateway
  registerStartCommand(program);
  registerStatusCommand(program);
  registerStopCommand(program);
  registerDashboardCommand(program);
  // Trust and browsers
  registerCaCommand(program);
  registerBrowserCommand(program);
  registerProxyCommand(program);
  // Plugins and models
  registerPluginsCommand(program);
  registerPluginNewCommand(program);
  registerModelsCommand(program, loadModelsContext);
  // Diagnostics
  registerDoctorCommand(program);
  // Subcommands inherit exitOverride so `--help` and usage errors return codes instead of exiting.
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * `aiplugs … | head -1` (or `2>&1 | head -1`): a reader that stops early leaves the rest of the
 * output nowhere to go, which is not the command's failure (the shell's convention); any other
 * error on either stream still is.
 */
function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}

/** Runs the CLI; turns known errors into one clear line and a meaningful exit code. */
export async function main(argv: string[]): Promise<void> {
  tolerateClosedOutput();
  // Whatever umask it was started with, nothing a command makes (`plugin new`'s files, the data
  // dir's) is writable by other accounts (restrict-umask.ts).
  restrictUmask();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportCliFailure(error);
  }
}
