import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { scaffoldPlugin, SCAFFOLD_BACKENDS, SCAFFOLD_DEFAULT_MATCHES, type ScaffoldBackend } from '../../authoring/scaffold-plugin.js';
import { PACKAGE_ROOT } from '../../package-paths.js';
import { parsePathArgument } from './cli-context.js';

interface PluginNewFlags {
  backend: ScaffoldBackend;
  name?: string;
  description?: string;
  match?: string[];
  pluginsDir?: string;
  json?: boolean;
}

function parseBackend(value: string): ScaffoldBackend {
  if (!(SCAFFOLD_BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${SCAFFOLD_BACKENDS.join(' or ')}`);
  return value as ScaffoldBackend;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The gateway's plugins folder when none is given: `AIPLUGS_PLUGINS_DIR`, else the repository's `plugins/`. */
export function defaultPluginsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AIPLUGS_PLUGINS_DIR || fileURLToPath(new URL('plugins/', PACKAGE_ROOT));
}

/**
 * `aiplugs plugin new <id> [--backend node|python] [--name] [--description] [--match PATTERN]… [--plugins-dir DIR] [--json]`:
 * scaffolds a working plugin folder (see authoring/scaffold-plugin.ts).
 */
export function registerPluginNewCommand(program: Command): void {
  const plugin = program.commands.find((command) => command.name() === 'plugin') ?? program.command('plugin').description('author plugins');
  plugin
    .command('new')
    .description('create a working plugin: manifest, content script, Node or Python backend and a test (or, with --backend web-ai, a script on the standard AI APIs and no backend)')
    .argument('<id>', 'plugin id and folder name (lowercase letters, digits, ".", "_", "-")')
    .option('--backend <runtime>', `backend language: ${SCAFFOLD_BACKENDS.join(' or ')} (web-ai: no backend, the browser's standard AI APIs)`, parseBackend, 'node')
    .option('--name <name>', 'human-readable name (default: from the id)')
    .option('--description <text>', 'one-sentence description')
    .option('--match <pattern>', `a match pattern for the content script; repeatable (default: ${SCAFFOLD_DEFAULT_MATCHES.join(' ')}, local pages only)`, collect)
    .option('--plugins-dir <dir>', 'where plugins live (default: AIPLUGS_PLUGINS_DIR or the repository plugins/)', parsePathArgument)
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags: PluginNewFlags) => {
      const result = await scaffoldPlugin({
        id,
        pluginsDir: flags.pluginsDir ?? defaultPluginsDir(),
        backend: flags.backend,
        name: flags.name,
        description: flags.description,
        matches: flags.match,
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const fromHere = relative(process.cwd(), result.dir);
      const shown = !fromHere || fromHere.startsWith('..') ? result.dir : fromHere;
      process.stdout.write(
        [
          `Created plugin "${id}" in ${shown}:`,
          ...result.files.map((file) => `  ${file}`),
          '',
          'Next:',
          `  cd ${shown} && ${result.testCommand.join(' ')}   # its test`,
          `  npx aiplugs plugins validate ${shown}`,
          `  npm start, then open a page it matches through the proxy (${(flags.match?.length ? flags.match : SCAFFOLD_DEFAULT_MATCHES).join(" ")}); edits reload on the next page load.`,
          '  To run it on other sites, edit "matches" in its manifest.json.',
          '',
        ].join('\n'),
      );
    });
}
