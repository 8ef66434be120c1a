#!/usr/bin/env node
// The CLI entry point: runs the compiled gateway (gateway/dist/, made by `npm run build`, which
// `npm install` runs in a clone). `start` with secrets in the environment runs the gateway as a
// child with a scrubbed one (src/cli/env-handoff.ts); main.js is only loaded where it runs.
const { withScrubbedEnvironment } = await import('../dist/cli/env-handoff.js').catch((error) => {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  console.error('aiplugs: the gateway is not built (gateway/dist is missing). Run `npm run build` in the AiPlugs folder.');
  process.exit(1);
});
// gateway-cli.js is dist/cli/main.js bundled into one file, which Node loads in a fraction of the CPU.
await withScrubbedEnvironment(process.argv, async () => (await import('../dist/gateway-cli.js')).main(process.argv));
