import type { PageRuntimeConfig } from '../../runtime/page/runtime-config.js';

/** The inline runtime element the proxy put into `html`: its attributes, its code and the config it applies the runtime to. */
export function injectedRuntime(html: string): { attributes: string; code: string; config: PageRuntimeConfig } {
  const element = /<script([^>]*) data-aiplugs="runtime">([\s\S]*?)<\/script>/.exec(html);
  if (!element) throw new Error(`no injected runtime in:\n${html.slice(0, 500)}`);
  const code = element[2] ?? '';
  // The config is the runtime function's one argument, the JSON the call ends with.
  const start = code.lastIndexOf('({"version":');
  const end = code.lastIndexOf(');');
  if (start < 0 || end < start) throw new Error(`the injected runtime applies no config: …${code.slice(-300)}`);
  return { attributes: element[1] ?? '', code, config: JSON.parse(code.slice(start + 1, end)) as PageRuntimeConfig };
}
