import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION, type RecordedEvent, type ShadowEvent } from '../../domain/events.js';
import { eventDetails, eventLine, eventView } from '../../projections/event-view.js';

const v = EVENT_SCHEMA_VERSION;
const at = (position: number, event: ShadowEvent): RecordedEvent => ({
  position,
  recordedAt: Date.UTC(2026, 11, 1, 8, 0, 0),
  event,
});

describe('event view', () => {
  it('JSON: position, ISO time, type first, then the fields without v', () => {
    const view = eventView(at(7, { type: 'BlocksWritten', v, lbn: 2048, count: 8 }));
    expect(view).toEqual({
      position: 7,
      time: '2026-12-01T08:00:00.000Z',
      type: 'BlocksWritten',
      lbn: 2048,
      count: 8,
    });
    expect(Object.keys(view)).toEqual(['position', 'time', 'type', 'lbn', 'count']);
  });

  it('renames an event field named position so it does not hide the event position', () => {
    expect(eventView(at(9, { type: 'MembersSynced', v, position: 5 }))).toMatchObject({
      position: 9,
      syncedPosition: 5,
    });
    expect(eventView(at(9, { type: 'CheckpointCreated', v, name: 'c1', position: 4 }))).toMatchObject({
      position: 9,
      checkpointPosition: 4,
    });
  });

  it('human: LBN first-last (count) for writes; name value pairs without fingerprints', () => {
    expect(eventDetails(at(1, { type: 'ZeroesWritten', v, lbn: 10, count: 1 }))).toBe('LBN 10-10 (1)');
    const copy = at(2, {
      type: 'CopyStarted',
      v,
      member: 'm2',
      source: 'm1',
      kind: 'mini',
      reason: 'bitmap since 1',
      chunks: 3,
      bytes: 9,
    });
    expect(eventDetails(copy)).toBe(
      'member m2, source m1, kind mini, reason "bitmap since 1", chunks 3, bytes 9',
    );
    const dismount = at(3, {
      type: 'MemberDismounted',
      v,
      member: 'm2',
      policy: 'minicopy',
      fingerprint: null,
    });
    expect(eventLine(dismount)).toMatch(
      /^\s+3 {2}2026-12-01T08:00:00.000Z {2}MemberDismounted\s+member m2, policy minicopy$/,
    );
  });
});
