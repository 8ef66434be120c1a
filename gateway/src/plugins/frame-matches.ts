import type { PluginMatch } from './plugin-registry.js';

/**
 * What a frame gets of the plugins matching its URL: the content-script groups that ask for frames
 * (`all_frames`), as a WebExtension's do; plugins left with none are dropped. Allocates only when
 * a plugin keeps some of its groups and not others.
 */
export function frameMatches(matches: PluginMatch[]): PluginMatch[] {
  const kept: PluginMatch[] = [];
  for (const match of matches) {
    const scripts = match.scripts.filter((script) => script.all_frames);
    if (scripts.length > 0) kept.push(scripts.length === match.scripts.length ? match : { plugin: match.plugin, scripts });
  }
  return kept;
}
