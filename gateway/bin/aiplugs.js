#!/usr/bin/env node
// The CLI entry point. The gateway is TypeScript run through tsx's loader, so there is no build
// step between editing a file and running it; startup pays a one-off transpile of each module.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
