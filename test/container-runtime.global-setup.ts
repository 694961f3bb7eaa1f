import { getContainerRuntimeClient } from 'testcontainers';
import type { TestProject } from 'vitest/node';

/**
 * vitest globalSetup: look for a container runtime (a Docker engine, Podman, ...) once per
 * run, before any test file, and hand the answer to the test workers through `provide`.
 * Suites that need a container (the KurrentDB contract suite) `inject('containerRuntime')` and
 * skip themselves, printing the reason, where there is none. Probing once keeps every such
 * file from paying testcontainers' strategy search, and a short timeout keeps a hung socket
 * from stalling the run.
 *
 * Set SHADOWLOG_SKIP_CONTAINER_TESTS=1 to skip them even where a runtime exists.
 */

/** What the probe found. */
export interface ContainerRuntimeProbe {
  /** True if testcontainers can start containers. */
  readonly available: boolean;
  /** How it was found, or why not: printed by skipped suites. */
  readonly reason: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/container-runtime.global-setup.ts. */
    containerRuntime: ContainerRuntimeProbe;
  }
}

/** Longest wait for the runtime to answer. */
export const PROBE_TIMEOUT_MS = 10_000;

/** Ask testcontainers for a runtime client, giving up after `timeoutMs`. */
export async function probeContainerRuntime(
  timeoutMs = PROBE_TIMEOUT_MS,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ContainerRuntimeProbe> {
  if (env.SHADOWLOG_SKIP_CONTAINER_TESTS === '1') {
    return { available: false, reason: 'SHADOWLOG_SKIP_CONTAINER_TESTS=1 is set' };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    const client = await Promise.race([getContainerRuntimeClient(), timeout]);
    const runtime = client.info.containerRuntime;
    return {
      available: true,
      reason: `container runtime on ${runtime.host} (${runtime.operatingSystem}, ${runtime.architecture})`,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { available: false, reason: `no container runtime (Docker engine) found: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** The globalSetup entry point. */
export default async function setup({ provide }: TestProject): Promise<void> {
  provide('containerRuntime', await probeContainerRuntime());
}
