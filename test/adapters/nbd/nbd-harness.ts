import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NbdExport } from '../../../adapters/nbd/nbd-export.js';
import { type NbdServer, type NbdServerOptions, startNbdServer } from '../../../adapters/nbd/nbd-server.js';
import { FileExport, type FileExportOptions } from './file-export.js';

/** True if every tool is on PATH; otherwise says which are missing via console.warn. */
export function haveTools(suite: string, tools: readonly string[]): boolean {
  const missing = tools.filter((tool) => {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    console.warn(
      `skipping ${suite}: ${missing.join(', ')} not installed (apt-get install qemu-utils libnbd-bin fio nbdkit)`,
    );
  }
  return missing.length === 0;
}

/** Result of running a tool. */
export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a tool with a time bound; rejects with its stderr on failure. */
export function run(tool: string, args: readonly string[], timeoutMs = 60_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** A temp dir, file-backed exports and a server on 127.0.0.1 with a random port. */
export interface Harness {
  readonly dir: string;
  readonly server: NbdServer;
  readonly exports: Map<string, FileExport>;
  /** `nbd://127.0.0.1:PORT/NAME`. */
  uri(name: string): string;
  close(): Promise<void>;
}

/** Start a harness with the given exports (paths are placed in a fresh temp dir). */
export async function startHarness(
  specs: ReadonlyArray<Omit<FileExportOptions, 'path'>>,
  serverOptions: Partial<NbdServerOptions> = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'shadowlog-nbd-'));
  const exports = new Map<string, FileExport>();
  for (const spec of specs) {
    exports.set(spec.name, await FileExport.create({ ...spec, path: join(dir, `${spec.name}.img`) }));
  }
  const server = await startNbdServer({
    host: '127.0.0.1',
    port: 0,
    exports: (name): NbdExport | undefined => exports.get(name),
    listExports: () => [...exports.values()],
    ...serverOptions,
  });
  return {
    dir,
    server,
    exports,
    uri: (name) => `nbd://127.0.0.1:${server.address.port}/${name}`,
    async close() {
      await server.close({ graceful: false, timeoutMs: 5_000 });
      for (const exp of exports.values()) await exp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
