import type { Fingerprint } from '../events.js';
import type { Geometry } from '../geometry.js';
import type { BlockDevice } from './block-device.js';

/**
 * How the engine reaches members: open a member's device, and fingerprint it when it leaves
 * or returns. Adapters implement it for image files and block devices; tests wrap it to
 * inject faults.
 */
export interface MemberAccess {
  /** Open the member at `path`; fails when it is missing or not `sizeBytes` long. */
  open(path: string, sizeBytes: number): Promise<BlockDevice>;
  /** Size, identity and a content sample of the member, to catch changes made while it was away. */
  fingerprint(path: string, device: BlockDevice, geometry: Geometry): Promise<Fingerprint>;
}
