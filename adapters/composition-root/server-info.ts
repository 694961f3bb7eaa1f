import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { z } from 'zod';
import { publishFile } from './publish-file.js';
import type { SetPaths } from './set-home.js';

/** What a running `shadowlog serve` tells other commands, in `<home>/<set>/server.json`. */
export const serverInfoSchema = z.object({
  /** The server's process id; a server.json whose pid is dead is stale. */
  pid: z.number().int().positive(),
  /** `host:port` of the control API. */
  http: z.string().min(1),
  /** `host:port` of the NBD export, or null when none is served. */
  nbd: z.string().nullable(),
  /** ISO time the server started. */
  startedAt: z.string(),
  /** `https` when the control API serves TLS (`serve --tls-certs`); absent: http. */
  scheme: z.enum(['http', 'https']).optional(),
  /** The CA certificate (PEM) local commands trust for an https control API. */
  caCertFile: z.string().optional(),
});
export type ServerInfo = z.infer<typeof serverInfoSchema>;

/** A fresh random control token. */
export function newControlToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * Write the token (mode 0600: whoever reads it controls the set) and server.json. Each is
 * written whole to a new file and renamed into place, so a file or a symlink already there is
 * replaced, never reused or followed (see {@link publishFile}).
 */
export async function publishServer(paths: SetPaths, info: ServerInfo, token: string): Promise<void> {
  await publishFile(paths.token, `${token}\n`, 0o600);
  await publishFile(paths.serverInfo, `${JSON.stringify(info, null, 2)}\n`, 0o644);
}

/** Remove server.json and the token (on shutdown). */
export async function withdrawServer(paths: SetPaths): Promise<void> {
  await rm(paths.serverInfo, { force: true });
  await rm(paths.token, { force: true });
}

/** The running server of a set, or null when none runs (a stale server.json of a dead pid is ignored). */
export async function findServer(paths: SetPaths): Promise<{ info: ServerInfo; token: string } | null> {
  let raw: string;
  try {
    raw = await readFile(paths.serverInfo, 'utf8');
  } catch {
    return null;
  }
  const parsed = serverInfoSchema.safeParse(safeJson(raw));
  if (!parsed.success) return null;
  try {
    process.kill(parsed.data.pid, 0);
  } catch {
    return null;
  }
  try {
    const token = (await readFile(paths.token, 'utf8')).trim();
    return { info: parsed.data, token };
  } catch {
    return null;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
