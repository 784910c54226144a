// Rule 15 of spec/events.md: DM rooms. A DM is a two-person room whose create event names
// both participants; it has exactly one channel (key DM_CHANNEL) and no settings, roles,
// overwrites, pins or ACL. Only the two participants are ever members, each joining (or
// leaving) only themselves, so nobody can be added to, or thrown out of, someone's DM.

import { ChannelKind, DM_CHANNEL, EventType, type Pdu } from './event-types.js';
import { isUserId } from './auth-content.js';
import { allow, deny, type AuthResult } from './auth-member-rules.js';
import { dmParticipants, getCreateContent, getStateEvent, isJoined, membershipOf, type StateMap } from './state-map.js';

/** 1 (dm): the create event names two distinct participants, the creator first. */
export function dmCreateProblem(content: Record<string, unknown>, sender: string): string | undefined {
  const p = content.participants;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((u) => typeof u === 'string' && isUserId(u))) {
    return '1: a dm names its two participants';
  }
  if (p[0] !== sender || p[1] === sender) return '1: the creator is the first of two distinct participants';
  return undefined;
}

/** 15: what a DM room allows after rules 0–2 (messages, edits, reactions and redactions then go through rules 9–12 with DM_PERMISSIONS). */
export function ruleDm(pdu: Pdu, state: StateMap, next: (pdu: Pdu, state: StateMap) => AuthResult): AuthResult {
  const participants = dmParticipants(state) ?? [];
  switch (pdu.type) {
    case EventType.Member:
      return ruleDmMember(pdu, state, participants);
    case EventType.Channel:
      if (pdu.sender !== getCreateContent(state)?.creator) return deny("15: only the DM's creator creates its channel");
      if (pdu.state_key !== DM_CHANNEL || pdu.content.kind !== ChannelKind.DM) return deny(`15: a DM's one channel is "${DM_CHANNEL}", of kind DM`);
      if (getStateEvent(state, EventType.Channel, DM_CHANNEL)) return deny('15: the DM channel already exists');
      return pdu.content.parent == null && pdu.content.deleted !== true ? allow : deny('15: the DM channel has no parent and is never deleted');
    case EventType.Message:
    case EventType.Edit:
    case EventType.Reaction:
    case EventType.Redaction:
      return next(pdu, state);
    default:
      return deny(`15: ${pdu.type} does not belong in a DM`);
  }
}

function ruleDmMember(pdu: Pdu, state: StateMap, participants: readonly string[]): AuthResult {
  const target = pdu.state_key as string;
  if (!participants.includes(target)) return deny('15: only the two participants are members of a DM');
  const c = pdu.content;
  if (Array.isArray(c.roles) && c.roles.length > 0) return deny('15: a DM has no roles');
  switch (c.membership) {
    case 'join':
      if (pdu.sender !== target) return deny('15: a participant joins only themselves');
      return isJoined(state, target) ? deny('15: already joined') : allow;
    case 'leave':
      if (pdu.sender !== target) return deny('15: a participant leaves only themselves');
      return isJoined(state, target) || membershipOf(state, target) === 'invite' ? allow : deny('15: not joined or invited');
    case 'invite': {
      // The creator's server asks the other participant's server to join (spec/federation.md, "Invites").
      if (!isJoined(state, pdu.sender) || pdu.sender === target) return deny('15: a joined participant invites the other one');
      const prev = membershipOf(state, target);
      return prev === undefined || prev === 'leave' ? allow : deny('15: already joined or invited');
    }
    default:
      return deny('15: a DM has no bans');
  }
}
