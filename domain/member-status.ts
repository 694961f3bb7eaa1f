/**
 * Where a member stands in its shadow set. OpenVMS terms: a `valid` member is a full source
 * member; `copying` is a copy target; `dismounted` has left (with or without a write bitmap);
 * `returning` has asked to come back and waits for its copy to start; `failed` was expelled
 * after an I/O error.
 */
export type MemberStatus = 'valid' | 'leaving' | 'dismounted' | 'returning' | 'copying' | 'failed';
// `leaving`: on a set served by several hosts, a dismount was requested and the hosts are
// acknowledging it (see MemberState.leaving); it still receives writes until the cut.

/** Statuses in which application writes reach the member (a leaving one: until its cut). */
export function receivesWrites(status: MemberStatus): boolean {
  return status === 'valid' || status === 'copying' || status === 'leaving';
}
