import type { Fingerprint } from '../../domain/events.js';
import type { Geometry } from '../../domain/geometry.js';
import type { BlockDevice } from '../../domain/ports/block-device.js';
import type { MemberAccess } from '../../domain/ports/member-access.js';
import { openBlockDevice } from './file-block-device.js';
import { type FingerprintOptions, fingerprintMember } from './member-fingerprint.js';

/**
 * The engine's way to real members (image files and block devices): opens them read-write at
 * the set's size and fingerprints them with {@link fingerprintMember}.
 */
export class FileMemberAccess implements MemberAccess {
  private readonly fingerprintOptions: FingerprintOptions;

  /** `fingerprintOptions` tunes the content sample; the defaults suit default-size chunks. */
  constructor(fingerprintOptions: FingerprintOptions = {}) {
    this.fingerprintOptions = fingerprintOptions;
  }

  /** Open `path` read-write, refusing it unless it is exactly `sizeBytes` long. */
  open(path: string, sizeBytes: number): Promise<BlockDevice> {
    return openBlockDevice(path, { expectedSizeBytes: sizeBytes });
  }

  /** Fingerprint the member at `path`, reading its samples through `device`. */
  fingerprint(path: string, device: BlockDevice, geometry: Geometry): Promise<Fingerprint> {
    return fingerprintMember(device, path, geometry, this.fingerprintOptions);
  }
}
