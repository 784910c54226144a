// Rule 3 of spec/auth-rules.md: membership changes (join, leave/kick/unban, ban, invite)
// and member updates (roles, nick). Content shape was already checked by validateMember.

import { serverOf, type MemberContent, type Pdu } from './event-types.js';
import { basePermissions, has, outranks, Permission, topRolePosition } from './permissions.js';
import { getMember, getOwner, getRole, memberRoleKeys, membershipOf, type StateMap } from './state-map.js';
import { isRecord } from './auth-content.js';

export type AuthResult = { ok: true } | { ok: false; reason: string };
export const allow: AuthResult = { ok: true };
export const deny = (reason: string): AuthResult => ({ ok: false, reason });

function can(state: StateMap, user: string, bit: bigint): boolean {
  return has(basePermissions(state, user), bit);
}

export function ruleMember(pdu: Pdu, state: StateMap): AuthResult {
  const content = pdu.content as unknown as MemberContent;
  const target = pdu.state_key as string;
  const sender = pdu.sender;
  if (content.membership !== 'join' && memberRoleKeys(content).length > 0) {
    return deny('3: only a join may carry roles');
  }
  switch (content.membership) {
    case 'join':
      return membershipOf(state, target) === 'join'
        ? ruleMemberUpdate(pdu, content, state) // 3.5
        : ruleJoin(pdu, content, state); // 3.1
    case 'leave':
      return ruleLeave(sender, target, state);
    case 'ban':
      return ruleBan(sender, target, state);
    case 'invite':
      return ruleInvite(sender, target, state);
    default:
      return deny('3: unknown membership');
  }
}

/** 3.1: a user joins (from leave, invite or nothing). */
function ruleJoin(pdu: Pdu, content: MemberContent, state: StateMap): AuthResult {
  const sender = pdu.sender;
  if (pdu.state_key !== sender) return deny('3.1: a user can only join themselves');
  const prev = membershipOf(state, sender);
  if (prev === 'ban') return deny('3.1: banned');
  if (memberRoleKeys(content).length > 0) return deny('3.1: a join must not carry roles');
  if (getOwner(state) === sender) return allow; // 3.1a: the owner can always (re)join
  if (prev === 'invite') return allow; // 3.1b
  if (content.authorised_by !== undefined) return ruleAuthorisedJoin(pdu, content.authorised_by, state); // 3.1c
  return deny('3.1: no invite, and no authorised_by');
}

/** 3.1c: a join through an invite code, vouched for by a member who may invite. */
function ruleAuthorisedJoin(pdu: Pdu, authoriser: string, state: StateMap): AuthResult {
  if (membershipOf(state, authoriser) !== 'join') return deny('3.1c: authorised_by is not joined');
  if (!can(state, authoriser, Permission.CREATE_INSTANT_INVITE)) {
    return deny('3.1c: authorised_by lacks CREATE_INSTANT_INVITE');
  }
  // Only presence is checked here; signature verification is the federation layer's job.
  const sigs = isRecord(pdu.signatures) ? pdu.signatures[serverOf(authoriser)] : undefined;
  if (!isRecord(sigs) || Object.keys(sigs).length === 0) {
    return deny("3.1c: not signed by authorised_by's server");
  }
  return allow;
}

/** 3.2: leave by self, kick, revoke an invite, or unban. */
function ruleLeave(sender: string, target: string, state: StateMap): AuthResult {
  const prev = membershipOf(state, target);
  if (target === sender) {
    return prev === 'join' || prev === 'invite' ? allow : deny('3.2: not joined or invited');
  }
  if (membershipOf(state, sender) !== 'join') return deny('3.2: sender not joined');
  switch (prev) {
    case 'ban': // unban
      return can(state, sender, Permission.BAN_MEMBERS) ? allow : deny('3.2: unban needs BAN_MEMBERS');
    case 'invite': // revoke an invite
      return can(state, sender, Permission.KICK_MEMBERS) ? allow : deny('3.2: revoking an invite needs KICK_MEMBERS');
    case 'join': // kick
      if (getOwner(state) === target) return deny('3.2: the owner cannot be kicked');
      if (!can(state, sender, Permission.KICK_MEMBERS)) return deny('3.2: kick needs KICK_MEMBERS');
      return outranks(state, sender, target) ? allow : deny('3.2: sender does not outrank target');
    default:
      return deny('3.2: target is not a member');
  }
}

/** 3.3: ban. */
function ruleBan(sender: string, target: string, state: StateMap): AuthResult {
  if (target === sender) return deny('3.3: cannot ban yourself');
  if (getOwner(state) === target) return deny('3.3: the owner cannot be banned');
  if (membershipOf(state, sender) !== 'join') return deny('3.3: sender not joined');
  if (!can(state, sender, Permission.BAN_MEMBERS)) return deny('3.3: ban needs BAN_MEMBERS');
  const prev = membershipOf(state, target);
  if (prev === 'ban') return deny('3.3: already banned');
  if (prev === 'join' && !outranks(state, sender, target)) return deny('3.3: sender does not outrank target');
  return allow;
}

/** 3.4: invite. */
function ruleInvite(sender: string, target: string, state: StateMap): AuthResult {
  if (membershipOf(state, sender) !== 'join') return deny('3.4: sender not joined');
  if (!can(state, sender, Permission.CREATE_INSTANT_INVITE)) return deny('3.4: invite needs CREATE_INSTANT_INVITE');
  const prev = membershipOf(state, target);
  if (prev === 'join') return deny('3.4: target already joined');
  if (prev === 'ban') return deny('3.4: target is banned');
  return allow;
}

function nickOf(m: MemberContent | undefined): string | null {
  return typeof m?.nick === 'string' && m.nick !== '' ? m.nick : null;
}

/** 3.5: join → join: a member changes their profile, or a moderator changes a member. */
function ruleMemberUpdate(pdu: Pdu, content: MemberContent, state: StateMap): AuthResult {
  const sender = pdu.sender;
  const target = pdu.state_key as string;
  if (membershipOf(state, sender) !== 'join') return deny('3.5: sender not joined');
  const old = getMember(state, target);
  const oldRoles = new Set(memberRoleKeys(old));
  const newRoles = new Set(memberRoleKeys(content));
  const added = [...newRoles].filter((r) => !oldRoles.has(r));
  const removed = [...oldRoles].filter((r) => !newRoles.has(r));
  const nickChanged = nickOf(old) !== nickOf(content);
  if (added.length === 0 && removed.length === 0 && !nickChanged) {
    return target === sender ? allow : deny('3.5: nothing changes');
  }
  if (added.length > 0 || removed.length > 0) {
    const r = ruleRoleChange(sender, added, removed, state);
    if (!r.ok) return r;
  }
  if (nickChanged) {
    if (target === sender) {
      if (!can(state, sender, Permission.CHANGE_NICKNAME)) return deny('3.5: needs CHANGE_NICKNAME');
    } else {
      if (!can(state, sender, Permission.MANAGE_NICKNAMES)) return deny('3.5: needs MANAGE_NICKNAMES');
      if (!outranks(state, sender, target)) return deny('3.5: sender does not outrank target');
    }
  }
  return allow;
}

/**
 * 3.5 roles: MANAGE_ROLES, every added role exists, and every added or removed role sits
 * strictly below the sender's top role. Only the owner bypasses the hierarchy; an
 * ADMINISTRATOR does not (Discord behaves the same).
 */
function ruleRoleChange(sender: string, added: string[], removed: string[], state: StateMap): AuthResult {
  if (!can(state, sender, Permission.MANAGE_ROLES)) return deny('3.5: changing roles needs MANAGE_ROLES');
  for (const r of added) if (!getRole(state, r)) return deny(`3.5: role ${r} does not exist`);
  const top = topRolePosition(state, sender);
  for (const r of [...added, ...removed]) {
    const role = getRole(state, r); // a deleted role has no rank; removing it is always allowed
    if (role && !(role.position < top)) return deny(`3.5: role ${r} is not below the sender's top role`);
  }
  return allow;
}
