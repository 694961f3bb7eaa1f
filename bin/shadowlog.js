#!/usr/bin/env node
// Entry point of the `shadowlog` command. The TypeScript sources are compiled to dist/ by
// `npm run build`, which `npm ci` runs through the `prepare` script.
import { main } from '../dist/adapters/cli/main.js';

// A reader that goes away (`shadowlog audit ... | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv);
