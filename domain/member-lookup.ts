import { assert, NotFoundError } from './errors.js';
import type { ShadowEvent } from './events.js';
import type { MemberState, ShadowSetState } from './shadow-set-state.js';

/**
 * Finding a member of the set: by id in the fold (where an unknown id breaks the log's rules)
 * and by id or path in the decider (where an unknown name is the operator's mistake).
 */

/** The member with this id, or undefined. */
export function findMember(state: ShadowSetState, id: string): MemberState | undefined {
  for (const member of state.members) if (member.id === id) return member;
  return undefined;
}

/** The member an event names; an unknown one means the log breaks the decider's rules. */
export function eventMember(state: ShadowSetState, id: string, event: ShadowEvent): MemberState {
  const found = findMember(state, id);
  assert(found, `${event.type} names unknown member '${id}'`);
  return found;
}

/** The member named by id or path, or a NotFoundError (exit 3) listing the members. */
export function resolveMember(state: ShadowSetState, name: string): MemberState {
  const found = state.members.find((m) => m.id === name) ?? state.members.find((m) => m.path === name);
  if (found === undefined) {
    const known = state.members.map((m) => `${m.id} (${m.path})`).join(', ');
    throw new NotFoundError(`member '${name}' is not in shadow set ${state.setId}; members: ${known}`);
  }
  return found;
}
