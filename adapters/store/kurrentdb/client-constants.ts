import type * as Client from '@kurrent/kurrentdb-client';

/*
 * The client's stream constants, declared here so that importing the store does not load
 * `@kurrent/kurrentdb-client` (gRPC and a native bridge) on every start of the CLI: only
 * opening a `kurrentdb://` store does (open-kurrentdb-store.ts). Each is typed as the
 * client's own constant, so a change of value in the client fails the type check.
 */

/** The stream does not exist yet (expected state of a first append). */
export const NO_STREAM: typeof Client.NO_STREAM = 'no_stream';
/** The first event of a stream. */
export const START: typeof Client.START = 'start';
/** The last event of a stream. */
export const END: typeof Client.END = 'end';
/** Read forwards. */
export const FORWARDS: typeof Client.FORWARDS = 'forwards';
/** Read backwards. */
export const BACKWARDS: typeof Client.BACKWARDS = 'backwards';
