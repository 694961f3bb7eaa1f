import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IoBarrier } from '../../primitives/io-barrier.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('IoBarrier', () => {
  it('lets shared holders in together and counts them', async () => {
    const b = new IoBarrier();
    await b.enterShared();
    await b.enterShared();
    expect(b.inFlight).toBe(2);
    b.leaveShared();
    b.leaveShared();
    expect(b.inFlight).toBe(0);
  });

  it('makes an exclusive request wait until every shared holder left', async () => {
    const b = new IoBarrier();
    await b.enterShared();
    await b.enterShared();
    let exclusive = false;
    const entered = b.enterExclusive().then(() => {
      exclusive = true;
    });
    b.leaveShared();
    await settle();
    expect(exclusive).toBe(false);
    b.leaveShared();
    await entered;
    expect(exclusive).toBe(true);
    b.leaveExclusive();
  });

  it('gives a waiting exclusive request priority over later shared ones (no starvation)', async () => {
    const b = new IoBarrier();
    await b.enterShared();
    const order: string[] = [];
    const exclusive = b.enterExclusive().then(() => order.push('exclusive'));
    const shared = b.enterShared().then(() => order.push('shared'));
    await settle();
    expect(order).toEqual([]);
    b.leaveShared();
    await exclusive;
    await settle();
    expect(order).toEqual(['exclusive']);
    expect(b.inFlight).toBe(0);
    b.leaveExclusive();
    await shared;
    expect(order).toEqual(['exclusive', 'shared']);
    expect(b.inFlight).toBe(1);
    b.leaveShared();
  });

  it('serves queued exclusive requests one at a time, in order, before the queued shared ones', async () => {
    const b = new IoBarrier();
    await b.enterExclusive();
    const order: string[] = [];
    const e1 = b.enterExclusive().then(() => order.push('e1'));
    const s1 = b.enterShared().then(() => order.push('s1'));
    const e2 = b.enterExclusive().then(() => order.push('e2'));
    const s2 = b.enterShared().then(() => order.push('s2'));
    b.leaveExclusive();
    await e1;
    await settle();
    expect(order).toEqual(['e1']);
    b.leaveExclusive();
    await e2;
    await settle();
    expect(order).toEqual(['e1', 'e2']);
    b.leaveExclusive();
    await Promise.all([s1, s2]);
    // Every waiting write goes in at once.
    expect(order).toEqual(['e1', 'e2', 's1', 's2']);
    expect(b.inFlight).toBe(2);
  });

  it('runExclusive leaves the barrier when the work throws', async () => {
    const b = new IoBarrier();
    await expect(b.runExclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await b.enterShared();
    expect(b.inFlight).toBe(1);
  });

  it('never has an exclusive holder together with any other holder, and every request is served', async () => {
    const op = fc.record({ exclusive: fc.boolean(), holdTicks: fc.integer({ min: 0, max: 5 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const b = new IoBarrier();
        let shared = 0;
        let exclusive = 0;
        await Promise.all(
          ops.map(async (o) => {
            if (o.exclusive) {
              await b.enterExclusive();
              expect(shared).toBe(0);
              expect(exclusive).toBe(0);
              exclusive++;
              for (let t = 0; t < o.holdTicks; t++) await Promise.resolve();
              exclusive--;
              b.leaveExclusive();
            } else {
              await b.enterShared();
              expect(exclusive).toBe(0);
              shared++;
              for (let t = 0; t < o.holdTicks; t++) await Promise.resolve();
              shared--;
              b.leaveShared();
            }
          }),
        );
        expect(b.inFlight).toBe(0);
        // The barrier is free again: an exclusive request goes at once.
        await b.enterExclusive();
        b.leaveExclusive();
      }),
      { numRuns: 200 },
    );
  });
});
