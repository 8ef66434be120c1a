import type { ModelDeclaration } from '../plugins/manifest-schema.js';
import { PENDING_SHA256, type PinStore } from './model-pins.js';
import type { PluginWithModels } from './model-types.js';

/** The hash a declaration stands for now: its own, or for a pending one the pinned hash (null before the first download). */
export async function expectedHash(pins: PinStore, declaration: ModelDeclaration): Promise<string | null> {
  if (declaration.sha256 !== PENDING_SHA256) return declaration.sha256;
  return (await pins.get(declaration.filename, declaration.source_url))?.sha256 ?? null;
}

/** The plugins with every pinned pending hash filled in, for the read-only inventory. */
export async function withPinnedHashes(pins: PinStore, plugins: PluginWithModels[]): Promise<PluginWithModels[]> {
  return Promise.all(
    plugins.map(async (plugin) => {
      const inference = plugin.manifest.inference;
      if (!inference?.models.some((model) => model.sha256 === PENDING_SHA256)) return plugin;
      const models = await Promise.all(inference.models.map(async (model) => ({ ...model, sha256: (await expectedHash(pins, model)) ?? PENDING_SHA256 })));
      return { ...plugin, manifest: { ...plugin.manifest, inference: { ...inference, models } } };
    }),
  );
}
