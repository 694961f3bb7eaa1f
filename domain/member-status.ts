/**
 * Where a member stands in its shadow set. OpenVMS terms: a `valid` member is a full source
 * member; `copying` is a copy target; `dismounted` has left (with or without a write bitmap);
 * `returning` has asked to come back and waits for its copy to start; `failed` was expelled
 * after an I/O error.
 */
export type MemberStatus = 'valid' | 'dismounted' | 'returning' | 'copying' | 'failed';

/** Statuses in which application writes reach the member. */
export function receivesWrites(status: MemberStatus): boolean {
  return status === 'valid' || status === 'copying';
}
