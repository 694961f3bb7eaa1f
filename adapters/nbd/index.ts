/**
 * The NBD server adapter: serves shadow sets (or any {@link NbdExport}) to standard NBD clients —
 * qemu-img/qemu-io, nbdcopy, nbdinfo, fio, the Linux kernel.
 */
export { NBD_STATE_DIRTY, NBD_STATE_HOLE, NBD_STATE_ZERO, NbdErrno } from './nbd-constants.js';
export { nbdErrnoFor } from './nbd-error-mapping.js';
export type {
  NbdExport,
  NbdExtent,
  NbdWriteOptions,
  NbdWriteZeroesOptions,
} from './nbd-export.js';
export type { NbdLog, NbdLogLevel } from './nbd-log.js';
export {
  isLoopbackHost,
  type NbdCloseOptions,
  type NbdServer,
  type NbdServerAddress,
  type NbdServerOptions,
  startNbdServer,
} from './nbd-server.js';
export type { NbdTlsOptions, NbdTlsX509 } from './nbd-tls.js';
