import type { EngineParts } from '../engine/engine-parts.js';

/** What the copy process and its scheduler use of the engine. */
export type CopyParts = Pick<
  EngineParts,
  | 'geometry'
  | 'rangeLock'
  | 'barrier'
  | 'follower'
  | 'devices'
  | 'reads'
  | 'failures'
  | 'log'
  | 'progress'
  | 'lifecycle'
>;
