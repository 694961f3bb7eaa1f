#!/usr/bin/env node
// Entry point of the `shadowlog` command. The TypeScript sources are compiled to dist/ by
// `npm run build`, which `npm ci` runs through the `prepare` script.
import { main } from '../dist/adapters/cli/main.js';

process.exitCode = await main(process.argv);
