// The authorization rules (spec/auth-rules.md): may this event be applied on top of this
// state? One pure function serves the client API (before it appends a local event) and
// federation (for remote events, against their auth events and against current state).
// Each rule is a small function named after the spec's numbered rule.

import {
  ChannelKind,
  EventType,
  EVERYONE_ROLE,
  serverOf,
  STATE_EVENT_TYPES,
  type Pdu,
  type ServerAclContent,
  type StoredEvent,
} from './event-types.js';
import {
  basePermissions,
  channelPermissions,
  has,
  parsePermissionString,
  Permission,
  topRolePosition,
} from './permissions.js';
import {
  getChannel,
  getCreate,
  getCreateContent,
  getOwner,
  getStateEvent,
  isJoined,
  isTextChannel,
  membershipOf,
  overwriteKey,
  type StateMap,
} from './state-map.js';
import { isRecord, isUserId, validateContent } from './auth-content.js';
import { aclAllows, serverAllowedInGuild } from './server-acl.js';
import { allow, deny, ruleMember, type AuthResult } from './auth-member-rules.js';
import { dmCreateProblem, ruleDm } from './auth-dm-rules.js';

export type { AuthResult } from './auth-member-rules.js';

/**
 * Decides whether `ev` is allowed on top of `stateBefore`. Never throws. `redacted`: the
 * event is kept in its redacted form (a peer's event whose content hash did not match), so
 * its content can't be validated (rule 2.3 is skipped; such an event is never shown).
 */
export function authorizeEvent(ev: Pdu | StoredEvent, stateBefore: StateMap, opts: { redacted?: boolean } = {}): AuthResult {
  try {
    const pdu = isRecord(ev) && isRecord((ev as StoredEvent).pdu) ? (ev as StoredEvent).pdu : (ev as Pdu);
    const shape = ruleEnvelope(pdu);
    if (!shape.ok) return shape;
    if (pdu.type === EventType.Create) return ruleCreate(pdu, stateBefore);
    const common = ruleCommon(pdu, stateBefore, opts.redacted === true);
    if (!common.ok) return common;
    const kind = getCreateContent(stateBefore)?.kind;
    if (kind === 'account') return ruleAccount(pdu, stateBefore);
    if (kind === 'dm') return ruleDm(pdu, stateBefore, ruleForType); // 15
    return ruleForType(pdu, stateBefore);
  } catch (e) {
    // A safety net: the rules are written not to throw, but a malformed event must never
    // turn into an exception (and a 500) in the caller.
    return deny(`malformed event (${e instanceof Error ? e.message : String(e)})`);
  }
}

function ruleForType(pdu: Pdu, state: StateMap): AuthResult {
  switch (pdu.type) {
    case EventType.Member:
      return ruleMember(pdu, state); // 3
    case EventType.Settings:
      return ruleSettings(pdu, state); // 4
    case EventType.Channel:
      return ruleChannel(pdu, state); // 5
    case EventType.Role:
      return ruleRole(pdu, state); // 6
    case EventType.Overwrite:
      return ruleOverwrite(pdu, state); // 7
    case EventType.Pin:
      return inChannel(pdu, state, '8', Permission.MANAGE_MESSAGES);
    case EventType.Message:
      return ruleMessage(pdu, state); // 9
    case EventType.Edit:
      return ruleEdit(pdu, state); // 10
    case EventType.Reaction:
      return inChannel(pdu, state, '11', Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY | Permission.ADD_REACTIONS);
    case EventType.Redaction:
      return allow; // 12: joined (rule 2) and valid content; the target is judged by mayRedact
    case EventType.ReadState:
      return deny('13: read states belong in an account room');
    case EventType.ServerAcl:
      return ruleServerAcl(pdu, state); // 14
    default:
      return deny(`2: unknown event type ${pdu.type}`);
  }
}

/** 14: the server ACL: MANAGE_GUILD, and it may not shut out its own sender's server. */
function ruleServerAcl(pdu: Pdu, state: StateMap): AuthResult {
  const perms = needs(state, pdu.sender, Permission.MANAGE_GUILD, '14', 'MANAGE_GUILD');
  if (!perms.ok) return perms;
  if (!aclAllows(pdu.content as unknown as ServerAclContent, pdu.origin)) return deny("14: a server ACL may not deny its sender's own server");
  return allow;
}

/**
 * 13: an account room is its creator's private DAG: the creator joins it, then writes read
 * states; nobody else joins or writes, and no guild event belongs in it.
 */
function ruleAccount(pdu: Pdu, state: StateMap): AuthResult {
  const owner = getOwner(state);
  if (pdu.sender !== owner) return deny('13: only the owner writes to an account room');
  if (pdu.type === EventType.Member) {
    const c = pdu.content;
    return pdu.state_key === owner && c.membership === 'join' && !membershipOf(state, owner) ? allow : deny('13: the owner joins an account room once, and only the owner');
  }
  if (pdu.type === EventType.ReadState) return allow; // content checked by rule 2.3
  return deny(`13: ${pdu.type} does not belong in an account room`);
}

/** 0: the envelope fields the rules read have the right types. */
function ruleEnvelope(pdu: unknown): AuthResult {
  if (!isRecord(pdu)) return deny('0: event must be an object');
  for (const f of ['room_id', 'type', 'sender', 'origin'] as const) {
    if (typeof pdu[f] !== 'string') return deny(`0: ${f} must be a string`);
  }
  if (pdu.state_key !== undefined && typeof pdu.state_key !== 'string') return deny('0: state_key must be a string');
  if (!Array.isArray(pdu.prev_events)) return deny('0: prev_events must be an array');
  if (typeof pdu.depth !== 'number') return deny('0: depth must be a number');
  if (!isRecord(pdu.signatures)) return deny('0: signatures must be an object');
  if (!isRecord(pdu.content)) return deny('0: content must be an object');
  if (!isUserId(pdu.sender)) return deny('0: sender must be a user id');
  if (serverOf(pdu.sender) !== pdu.origin) return deny('0: a server speaks only for its own users');
  return allow;
}

/** 1: the create event starts a guild. */
function ruleCreate(pdu: Pdu, state: StateMap): AuthResult {
  if (pdu.prev_events.length !== 0) return deny('1: create must have no prev_events');
  if (pdu.depth !== 1) return deny('1: create must have depth 1');
  if (state.size !== 0) return deny('1: create must come first');
  if (pdu.state_key !== '') return deny('1: create state_key must be ""');
  const c = pdu.content;
  if (c.creator !== pdu.sender) return deny('1: creator must be the sender');
  if (serverOf(pdu.room_id) !== serverOf(pdu.sender)) return deny("1: room_id must be on the creator's server");
  if (c.room_version !== '1') return deny('1: room_version must be "1"');
  if (c.kind !== 'guild' && c.kind !== 'dm' && c.kind !== 'account') return deny('1: kind must be guild, dm or account');
  const dm = c.kind === 'dm' ? dmCreateProblem(c, pdu.sender) : undefined;
  return dm ? deny(dm) : allow;
}

/** 2: every other event. */
function ruleCommon(pdu: Pdu, state: StateMap, redacted: boolean): AuthResult {
  const create = getCreate(state);
  if (!create || create.pdu.room_id !== pdu.room_id) return deny('2.1: no create event for this room');
  const isState = typeof pdu.state_key === 'string';
  if (isState !== STATE_EVENT_TYPES.has(pdu.type)) return deny('2.2: state_key present iff the type is a state type');
  const problem = redacted ? undefined : validateContent(pdu.type, pdu.state_key, pdu.content);
  if (problem) return deny(`2.3: ${problem}`);
  if (pdu.type !== EventType.Member && !isJoined(state, pdu.sender)) return deny('2.4: sender not joined');
  if (!serverAllowedInGuild(state, pdu.origin)) return deny(`2.5: the guild's server ACL denies ${pdu.origin}`);
  return allow;
}

function needs(state: StateMap, sender: string, bit: bigint, rule: string, name: string): AuthResult {
  return has(basePermissions(state, sender), bit) ? allow : deny(`${rule}: needs ${name}`);
}

/** 4: guild settings. */
function ruleSettings(pdu: Pdu, state: StateMap): AuthResult {
  if (pdu.state_key !== '') return deny('4: settings state_key must be ""');
  return needs(state, pdu.sender, Permission.MANAGE_GUILD, '4', 'MANAGE_GUILD');
}

/** 5: create, edit or delete a channel. */
function ruleChannel(pdu: Pdu, state: StateMap): AuthResult {
  const key = pdu.state_key as string;
  const c = pdu.content;
  const existing = getChannel(state, key);
  // Editing a live channel honours its overwrites (Discord's "Manage Channel" there);
  // creating one is a guild-level act.
  const perms = existing ? channelPermissions(state, pdu.sender, key) : basePermissions(state, pdu.sender);
  if (!has(perms, Permission.MANAGE_CHANNELS)) return deny('5: needs MANAGE_CHANNELS');
  if (existing && existing.kind !== c.kind) return deny('5: a channel keeps its kind');
  if (c.kind === ChannelKind.DM) return deny('5: only a DM has a DM channel');
  if (c.parent !== undefined && c.parent !== null && c.deleted !== true) {
    if (c.kind === ChannelKind.Category) return deny('5: a category has no parent');
    if (getChannel(state, c.parent as string)?.kind !== ChannelKind.Category) {
      return deny('5: parent must be an existing category');
    }
  }
  return allow;
}

/** 6: create, edit or delete a role. */
function ruleRole(pdu: Pdu, state: StateMap): AuthResult {
  const key = pdu.state_key as string;
  const c = pdu.content;
  const base = basePermissions(state, pdu.sender);
  if (!has(base, Permission.MANAGE_ROLES)) return deny('6: needs MANAGE_ROLES');
  const position = c.position as number;
  if (key === EVERYONE_ROLE) {
    if (c.deleted === true) return deny('6: @everyone cannot be deleted');
    if (position !== 0) return deny('6: @everyone keeps position 0');
  } else if (position < 1) {
    return deny('6: only @everyone has position 0');
  }
  // The old version, even if deleted: re-creating a role above you is as bad as editing it.
  const oldContent = getStateEvent(state, EventType.Role, key)?.pdu.content;
  const old = isRecord(oldContent) ? oldContent : undefined;
  if (getOwner(state) !== pdu.sender) {
    const top = topRolePosition(state, pdu.sender);
    if (!(position < top)) return deny("6: role must sit below the sender's top role");
    if (old && !((old.position as number) < top)) return deny("6: role sits at or above the sender's top role");
  }
  const before = old && old.deleted !== true ? (parsePermissionString(old.permissions) ?? 0n) : 0n;
  const granted = (parsePermissionString(c.permissions) as bigint) & ~before;
  if ((granted & ~base) !== 0n) return deny('6: cannot grant permissions the sender lacks');
  return allow;
}

/** 7: create, edit or delete a channel permission overwrite. */
function ruleOverwrite(pdu: Pdu, state: StateMap): AuthResult {
  const c = pdu.content;
  const channel = c.channel as string;
  if (!getChannel(state, channel)) return deny('7: channel does not exist');
  if (c.kind === 'role' && c.deleted !== true && !getStateEvent(state, EventType.Role, c.target as string)) {
    return deny('7: target role does not exist');
  }
  const perms = channelPermissions(state, pdu.sender, channel);
  if (!has(perms, Permission.MANAGE_ROLES)) return deny('7: needs MANAGE_ROLES in the channel');
  // A missing or deleted overwrite counts as allow = deny = 0.
  const oldContent = getStateEvent(state, EventType.Overwrite, overwriteKey(channel, c.target as string))?.pdu.content;
  const [oldAllow, oldDeny] = overwritePair(isRecord(oldContent) ? oldContent : undefined);
  const [newAllow, newDeny] = overwritePair(c);
  const changed = (oldAllow ^ newAllow) | (oldDeny ^ newDeny);
  // Only bits the sender holds in this channel may be set or cleared (admins hold all).
  if ((changed & ~perms) !== 0n) return deny('7: cannot allow or deny permissions the sender lacks here');
  return allow;
}

function overwritePair(c: Record<string, unknown> | undefined): [bigint, bigint] {
  if (!c || c.deleted === true) return [0n, 0n];
  return [parsePermissionString(c.allow) ?? 0n, parsePermissionString(c.deny) ?? 0n];
}

/** 8 and 11: the channel exists, is a text channel, and the sender holds `bits` there. */
function inChannel(pdu: Pdu, state: StateMap, rule: string, bits: bigint): AuthResult {
  const channel = pdu.content.channel as string;
  if (!isTextChannel(getChannel(state, channel))) return deny(`${rule}: not an existing text channel`);
  return has(channelPermissions(state, pdu.sender, channel), bits) ? allow : deny(`${rule}: missing permissions`);
}

/** 9: a message. */
function ruleMessage(pdu: Pdu, state: StateMap): AuthResult {
  const r = inChannel(pdu, state, '9', Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES);
  if (!r.ok) return r;
  const perms = channelPermissions(state, pdu.sender, pdu.content.channel as string);
  if (pdu.content.mention_everyone === true && !has(perms, Permission.MENTION_EVERYONE)) {
    return deny('9: mention_everyone needs MENTION_EVERYONE');
  }
  if (pdu.content.tts === true && !has(perms, Permission.SEND_TTS_MESSAGES)) return deny('9: tts needs SEND_TTS_MESSAGES');
  return allow;
}

/** 10: an edit (that it targets the sender's own message is mayApplyEdit's job). */
function ruleEdit(pdu: Pdu, state: StateMap): AuthResult {
  const r = inChannel(pdu, state, '10', Permission.VIEW_CHANNEL);
  if (!r.ok) return r;
  const perms = channelPermissions(state, pdu.sender, pdu.content.channel as string);
  if (pdu.content.mention_everyone === true && !has(perms, Permission.MENTION_EVERYONE)) {
    return deny('10: mention_everyone needs MENTION_EVERYONE');
  }
  return allow;
}

/** 10 (target half): an edit applies only to a message by the same sender in the same channel. */
export function mayApplyEdit(edit: StoredEvent, target: StoredEvent): boolean {
  const e = edit?.pdu;
  const t = target?.pdu;
  if (!isRecord(e) || !isRecord(t) || !isRecord(e.content) || !isRecord(t.content)) return false;
  return (
    t.type === EventType.Message &&
    e.type === EventType.Edit &&
    e.room_id === t.room_id &&
    e.sender === t.sender &&
    e.content.target === target.event_id &&
    typeof t.content.channel === 'string' &&
    e.content.channel === t.content.channel
  );
}

const REDACTABLE: ReadonlySet<string> = new Set([EventType.Message, EventType.Reaction, EventType.Edit]);

/**
 * 12 (target half): a redaction removes a message, reaction or edit of the same room,
 * sent by the redaction's sender or in a channel where the sender has MANAGE_MESSAGES.
 */
export function mayRedact(redaction: StoredEvent, target: StoredEvent, stateBefore: StateMap): boolean {
  try {
    const r = redaction?.pdu;
    const t = target?.pdu;
    if (!isRecord(r) || !isRecord(t) || !isRecord(r.content) || !isRecord(t.content)) return false;
    if (r.type !== EventType.Redaction || !REDACTABLE.has(t.type) || r.room_id !== t.room_id) return false;
    if (r.content.redacts !== target.event_id) return false;
    const channel = t.content.channel;
    if (typeof channel !== 'string') return false;
    if (r.content.channel !== undefined && r.content.channel !== channel) return false;
    if (t.sender === r.sender) return true;
    return has(channelPermissions(stateBefore, r.sender, channel), Permission.MANAGE_MESSAGES);
  } catch {
    return false;
  }
}
