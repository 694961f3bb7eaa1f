/**
 * The KurrentDB (EventStoreDB) event store: public API. See kurrentdb-event-store.ts for the
 * overview and README.md beside it for running a server.
 */

export {
  type AppendWriterLimits,
  type AppendWriterStats,
  DEFAULT_APPEND_WRITER_LIMITS,
} from './append-writer.js';
export {
  type KurrentDbClientSurface,
  type StreamSubscriptionSurface,
  streamNameFor,
} from './client-surface.js';
export {
  DEFAULT_KURRENTDB_PORT,
  isKurrentDbConnectionString,
  type KurrentDbConnection,
  type KurrentDbHost,
  parseKurrentDbConnectionString,
  STORE_ENV_VARIABLE,
  storeSettingFrom,
} from './connection-string.js';
export { KurrentDbEventStore, type KurrentDbEventStoreOptions } from './kurrentdb-event-store.js';
export { type OpenKurrentDbStoreOptions, openKurrentDbStore } from './open-kurrentdb-store.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
export {
  DEFAULT_KURRENTDB_SUBSCRIPTION_LIMITS,
  type KurrentDbSubscriptionLimits,
} from './stream-subscription.js';
