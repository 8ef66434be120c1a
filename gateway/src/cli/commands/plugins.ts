import { existsSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describePlugin } from '../../api/routes/plugin-routes.js';
import { findRunningGateway } from '../../browser/gateway-link.js';
import { loadPlugin, loadPlugins, type PluginRecord } from '../../plugins/plugin-registry.js';
import { PACKAGE_ROOT } from '../../package-paths.js';
import { CliError, EXIT } from '../cli-error.js';
import { addConfigOption, addDataDirOption, addJsonOption, cliConfig, cliDataDir, print, printJson, type DataDirFlags } from './cli-context.js';
import { signedFetch } from '../../pairing/signed-fetch.js';

type PluginView = ReturnType<typeof describePlugin>;

async function configuredPluginsDir(flags: DataDirFlags): Promise<string> {
  return (await cliConfig(flags)).plugins_dir ?? fileURLToPath(new URL('plugins', PACKAGE_ROOT));
}

/** A folder with a manifest.json is one plugin; any other folder holds one plugin per sub-folder. */
export async function validatePluginsAt(dir: string): Promise<PluginRecord[]> {
  const absolute = resolve(dir);
  if (!existsSync(absolute)) throw new CliError(EXIT.failure, `${dir} does not exist`);
  if (existsSync(join(absolute, 'manifest.json'))) return [await loadPlugin(absolute, basename(absolute))];
  return loadPlugins(absolute);
}

function printRecord(record: PluginRecord): void {
  const where = relative(process.cwd(), record.dir) || '.';
  if (record.status === 'enabled') {
    print(`✓ ${record.id} ${record.manifest.version} (${where})`);
    return;
  }
  print(`✗ ${record.id} (${where})`);
  for (const error of record.errors) print(`    ${error}`);
}

/** `aiplugs plugins list|validate`. */
export function registerPluginsCommand(program: Command): void {
  const plugins = program.command('plugins').description('list plugins and check their manifests');

  const list = plugins.command('list').description('list plugins with their state (live from the gateway when it runs, else from the plugins folder)');
  addDataDirOption(list);
  addConfigOption(list);
  addJsonOption(list);
  list.action(async (flags: DataDirFlags) => {
    const running = await findRunningGateway(cliDataDir(flags));
    let views: PluginView[];
    let source: string;
    if (running) {
      const response = await signedFetch(running.runtime.apiUrl, running.token, '/api/plugins');
      if (!response.ok) throw new CliError(EXIT.failure, `The gateway answered HTTP ${response.status}`);
      views = ((await response.json()) as { plugins: PluginView[] }).plugins;
      source = `the running gateway (${running.runtime.apiUrl})`;
    } else {
      const dir = await configuredPluginsDir(flags);
      views = (await loadPlugins(dir)).map(describePlugin);
      source = dir;
    }
    if (flags.json) {
      printJson({ source, plugins: views });
      return;
    }
    print(`Plugins from ${source}:`);
    if (views.length === 0) print('  (none)');
    for (const view of views) {
      if (view.status === 'error') {
        print(`  ✗ ${view.id}  error`);
        for (const error of view.errors) print(`      ${error}`);
        continue;
      }
      const matches = view.content_scripts.flatMap((script) => script.matches).join(' ');
      print(`  ✓ ${view.id} ${view.version}  ${view.name}${view.inference ? `  [${view.inference.default_mode}]` : ''}  ${matches}`);
    }
  });

  const validate = plugins
    .command('validate')
    .description('check manifests and the files they name; every problem is reported with its JSON path (exit 5 if any)')
    .argument('[dir]', 'a plugin folder, or a folder of plugins (default: the configured plugins folder)');
  addDataDirOption(validate);
  addConfigOption(validate);
  addJsonOption(validate);
  validate.action(async (dir: string | undefined, flags: DataDirFlags) => {
    const records = await validatePluginsAt(dir ?? (await configuredPluginsDir(flags)));
    const invalid = records.filter((record) => record.status === 'error');
    if (flags.json) {
      printJson({
        valid: invalid.length === 0,
        plugins: records.map((record) => ({ id: record.id, dir: record.dir, valid: record.status === 'enabled', errors: record.status === 'error' ? record.errors : [] })),
      });
    } else {
      if (records.length === 0) print('No plugin folders found.');
      records.forEach(printRecord);
      print('', invalid.length === 0 ? `${records.length} plugin(s) valid.` : `${invalid.length} of ${records.length} plugin(s) have problems.`);
    }
    if (invalid.length > 0) process.exitCode = EXIT.problems;
  });
}
