import { describe, expect, inject, it } from 'vitest';
import { probeContainerRuntime } from '../../../container-runtime.global-setup.js';

describe('container runtime probe (vitest globalSetup)', () => {
  it('answers with a reason either way, within its timeout', async () => {
    const started = Date.now();
    const probe = await probeContainerRuntime(5_000, {});
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(typeof probe.available).toBe('boolean');
    expect(probe.reason).toMatch(probe.available ? /^container runtime on / : /^no container runtime/);
    // Where the globalSetup ran, the suites saw the same answer.
    const provided = inject('containerRuntime');
    if (provided !== undefined) expect(provided.available).toBe(probe.available);
  });

  it('is switched off by SHADOWLOG_SKIP_CONTAINER_TESTS=1', async () => {
    expect(await probeContainerRuntime(5_000, { SHADOWLOG_SKIP_CONTAINER_TESTS: '1' })).toEqual({
      available: false,
      reason: 'SHADOWLOG_SKIP_CONTAINER_TESTS=1 is set',
    });
  });
});
