import { createEventBus } from '../../events/event-bus.js';
import { createLogger } from '../../events/logger.js';
import { assertTrustedModelsFolder } from '../../models/model-folder.js';
import { createModelProvisioner } from '../../models/model-provisioner.js';
import { provisionerOptionsFromConfig } from '../../models/provisioner-settings.js';
import { createPluginRegistry } from '../../plugins/plugin-registry.js';
import { repoPath } from '../../package-paths.js';
import { createWebAiBuiltIns, withBuiltIns } from '../../webai/builtin-plugins.js';
import { cliConfig } from './cli-context.js';
import type { ModelsCommandContext, ModelsCommandFlags } from './models.js';

/**
 * What `aiplugs models …` works on: the same config, plugins and models folder the gateway would
 * use (flags beat config), without starting any server.
 */
export async function loadModelsContext(flags: ModelsCommandFlags): Promise<ModelsCommandContext> {
  const config = await cliConfig({ config: flags.config });
  const bus = createEventBus({ history: 1 });
  const logger = createLogger({ bus, level: config.log_level });
  const registry = await createPluginRegistry({ pluginsDir: flags.pluginsDir ?? config.plugins_dir ?? repoPath('plugins') });
  const modelsDir = flags.modelsDir ?? config.models_dir ?? repoPath('models');
  // The folder the gateway would refuse (model-folder.ts): `models verify` would trust its records too.
  await assertTrustedModelsFolder(modelsDir);
  const provisioner = createModelProvisioner({
    modelsDir,
    ...provisionerOptionsFromConfig(config.models),
    bus,
    logger: logger.child('models'),
  });
  // Web AI's built-in models too: `models pull webai:llm` works, and `models gc` keeps them.
  const builtIns = config.webai.enabled ? (await createWebAiBuiltIns(config.webai)).all : [];
  return { provisioner, registry: withBuiltIns(registry, builtIns), logger };
}
