#!/usr/bin/env node
// The CLI entry point: runs the compiled gateway (gateway/dist/, made by `npm run build`, which
// `npm install` runs in a clone). `start` with secrets in the environment runs the gateway as a
// child with a scrubbed one (src/cli/env-handoff.ts); main.js is only loaded where it runs.
// Both are gateway/dist/cli modules bundled (gateway/build/cli-bundle.ts), which Node loads in a
// fraction of the CPU of the module tree.
const { withScrubbedEnvironment } = await import('../dist/gateway-launcher.js').catch((error) => {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  console.error('aiplugs: the gateway is not built (gateway/dist is missing). Run `npm run build` in the AiPlugs folder.');
  process.exit(1);
});
await withScrubbedEnvironment(process.argv, async () => (await import('../dist/gateway-cli.js')).main(process.argv));
