import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION, type RecordedEvent, type ShadowEvent } from '../../domain/events.js';
import { EVENT_TYPE_GROUPS, matchesEvent, parseEventTypes } from '../../projections/event-filter.js';

const at = (position: number, event: ShadowEvent): RecordedEvent => ({
  position,
  recordedAt: 1_000 + position,
  event,
});
const v = EVENT_SCHEMA_VERSION;
const write = at(1, { type: 'BlocksWritten', v, lbn: 100, count: 10 });
const trim = at(2, { type: 'BlocksTrimmed', v, lbn: 500, count: 1 });
const dismount = at(3, { type: 'MemberDismounted', v, member: 'm2', policy: 'minicopy', fingerprint: null });
const synced = at(4, { type: 'MembersSynced', v, position: 3 });

describe('event filter', () => {
  it('expands groups and exact names', () => {
    expect([...parseEventTypes(['writes'])]).toEqual(['BlocksWritten', 'BlocksTrimmed', 'ZeroesWritten']);
    expect([...parseEventTypes(['sync', 'CopyStarted'])]).toEqual(['MembersSynced', 'CopyStarted']);
    expect(EVENT_TYPE_GROUPS.membership).toContain('MemberDismounted');
    expect(EVENT_TYPE_GROUPS.membership).toContain('HostLeft');
    expect(EVENT_TYPE_GROUPS.membership).not.toContain('MembersSynced');
    expect(EVENT_TYPE_GROUPS.copies).toEqual([
      'CopyStarted',
      'CopyProgressed',
      'CopyCompleted',
      'CopyAborted',
      'CopyFinishing',
    ]);
  });

  it('refuses an unknown type, listing the accepted ones', () => {
    expect(() => parseEventTypes(['Writes2'])).toThrow(/--type 'Writes2'.*writes, membership.*BlocksWritten/);
  });

  it('matches by type, member and LBN range (writes touching it, edges inclusive)', () => {
    const all = [write, trim, dismount, synced];
    const keep = (c: Parameters<typeof matchesEvent>[1]) =>
      all.filter((r) => matchesEvent(r, c)).map((r) => r.position);
    expect(keep({})).toEqual([1, 2, 3, 4]);
    expect(keep({ types: parseEventTypes(['writes']) })).toEqual([1, 2]);
    expect(keep({ member: 'm2' })).toEqual([3]);
    expect(keep({ lbn: { start: 109, end: 499 } })).toEqual([1]);
    expect(keep({ lbn: { start: 110, end: 499 } })).toEqual([]);
    expect(keep({ lbn: { start: 0, end: 500 } })).toEqual([1, 2]);
    expect(keep({ lbn: { start: 0, end: 1000 }, types: parseEventTypes(['BlocksTrimmed']) })).toEqual([2]);
  });
});
