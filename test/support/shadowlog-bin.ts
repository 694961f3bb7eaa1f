import { join } from 'node:path';

/** The built `shadowlog` command (`bin/shadowlog.js`, which runs `dist/`). */
export const SHADOWLOG_BIN = join(import.meta.dirname, '..', '..', 'bin', 'shadowlog.js');
