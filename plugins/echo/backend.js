// A plugin backend: export run(payload) (sync or async) and return JSON.
// Anything printed goes to the gateway log, prefixed with the plugin id.
console.log('echo backend loaded');

export function run(payload) {
  return { echo: payload, plugin: process.env.AIPLUGS_PLUGIN_ID ?? 'echo' };
}
