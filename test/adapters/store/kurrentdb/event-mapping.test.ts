import type { JSONEventData, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import {
  fromResolvedEvent,
  sizeOnDisk,
  toEventData,
} from '../../../../adapters/store/kurrentdb/event-mapping.js';
import { EventInvalidError, OutOfRangeError } from '../../../../domain/errors.js';
import { EVENT_TYPES, type ShadowEvent } from '../../../../domain/events.js';
import { numberedWrite, SAMPLE_EVENTS, SAMPLE_EVENTS_BY_TYPE } from '../../../fixtures/sample-events.js';

const STREAM = 'shadowlog-DSA1';

/** What a KurrentDB server hands back for `data` at `revision`: JSON text both ways, as on the wire. */
function overTheWire(data: JSONEventData, revision: bigint): ResolvedEvent {
  return {
    event: {
      streamId: STREAM,
      id: data.id,
      isJson: true,
      revision,
      type: data.type,
      created: new Date(0),
      data: JSON.parse(JSON.stringify(data.data)),
      metadata: JSON.parse(JSON.stringify(data.metadata)),
    },
  } as ResolvedEvent;
}

/** A raw resolved event, for malformed input. */
function raw(fields: Record<string, unknown>): ResolvedEvent {
  return {
    event: {
      streamId: STREAM,
      id: 'c0ffee00-0000-4000-8000-000000000000',
      isJson: true,
      revision: 7n,
      type: 'BlocksWritten',
      created: new Date(0),
      data: { lbn: 8, count: 1 },
      metadata: { v: 1, recordedAt: 1000 },
      ...fields,
    },
  } as ResolvedEvent;
}

function invalidError(resolved: ResolvedEvent): EventInvalidError {
  try {
    fromResolvedEvent(resolved, STREAM);
  } catch (error) {
    expect(error).toBeInstanceOf(EventInvalidError);
    return error as EventInvalidError;
  }
  throw new Error('expected an EventInvalidError');
}

describe('event ↔ KurrentDB event mapping', () => {
  it('covers every event type of the catalogue', () => {
    expect(SAMPLE_EVENTS.map((e) => e.type)).toEqual(EVENT_TYPES);
  });

  it.each(SAMPLE_EVENTS.map((event, i) => [event.type, event, i] as const))(
    '%s round-trips deep-equal, with its position and recordedAt',
    (_type, event, i) => {
      const recordedAt = 1_764_000_000_000 + i + 0.25;
      const data = toEventData(event, `00000000-0000-4000-8000-00000000000${i % 10}`, recordedAt);
      const back = fromResolvedEvent(overTheWire(data, BigInt(i * 1000)), STREAM);
      expect(back).toEqual({ position: i * 1000, recordedAt, event });
    },
  );

  it('puts the type in the type, the payload in the data and the envelope in the metadata', () => {
    const data = toEventData(SAMPLE_EVENTS_BY_TYPE.CopyStarted as ShadowEvent, 'id-1', 42);
    expect(data).toEqual({
      id: 'id-1',
      contentType: 'application/json',
      type: 'CopyStarted',
      data: {
        member: 'm2',
        source: 'm0',
        kind: 'mini',
        reason: 'bitmap since position 3 marks 2 of 132105 chunks; fingerprint unchanged',
        chunks: 2,
        bytes: 130_048,
      },
      metadata: { v: 1, recordedAt: 42 },
    });
  });

  it('estimates sizes as the server counts them, never below', () => {
    for (const event of [...SAMPLE_EVENTS, numberedWrite(2 ** 40 + 1)]) {
      const data = toEventData(event, 'id', -1.7976931348623157e308);
      const actual =
        Buffer.byteLength(JSON.stringify(data.data)) +
        Buffer.byteLength(JSON.stringify(data.metadata)) +
        2 * data.type.length;
      expect(sizeOnDisk(event)).toBeGreaterThanOrEqual(actual);
      expect(sizeOnDisk(event) - actual).toBeLessThan(70);
    }
  });

  it('validates the payload with the event schema, naming the field, stream and revision', () => {
    const error = invalidError(raw({ data: { lbn: -1, count: 1 } }));
    expect(error.field).toBe('lbn');
    expect(error.message).toMatch(/\(stream shadowlog-DSA1, revision 7\)/);
    expect(invalidError(raw({ type: 'NoSuchEvent' })).field).toBe('type');
    expect(invalidError(raw({ metadata: { v: 2, recordedAt: 1 } })).field).toBe('v');
    expect(invalidError(raw({ data: { lbn: 8 } })).field).toBe('count');
  });

  it('does not let the data override the type or version', () => {
    const back = fromResolvedEvent(raw({ data: { lbn: 8, count: 1, type: 'MemberFailed', v: 99 } }), STREAM);
    expect(back.event).toEqual({ type: 'BlocksWritten', v: 1, lbn: 8, count: 1 });
  });

  it('refuses events shadowlog did not write', () => {
    expect(invalidError(raw({ isJson: false, data: new Uint8Array([1, 2]) })).field).toBe('data');
    expect(invalidError(raw({ data: [1, 2] })).field).toBe('data');
    expect(invalidError(raw({ data: 'not json' })).field).toBe('data');
    expect(invalidError(raw({ metadata: undefined })).field).toBe('metadata');
    expect(invalidError(raw({ metadata: new Uint8Array([1]) })).field).toBe('metadata');
    expect(invalidError(raw({ metadata: { v: 1 } })).field).toBe('metadata.recordedAt');
    expect(invalidError(raw({ metadata: { v: 1, recordedAt: '2025-01-01' } })).field).toBe(
      'metadata.recordedAt',
    );
    expect(invalidError(raw({ metadata: { v: 1, recordedAt: null } })).field).toBe('metadata.recordedAt');
    const link = { link: { revision: 3n } } as unknown as ResolvedEvent;
    expect(invalidError(link).message).toMatch(
      /link to a deleted event \(stream shadowlog-DSA1, revision 3\)/,
    );
  });

  it('refuses a revision that is not a safe position', () => {
    expect(() => fromResolvedEvent(raw({ revision: 2n ** 53n }), STREAM)).toThrow(OutOfRangeError);
  });
});
