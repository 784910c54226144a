// Shape checks for each event type's content (the "content is valid" part of the auth
// rules, spec/auth-rules.md). Each returns null when valid, else a reason. Pure, never
// throws; the API can call validateContent to reject bad input before building an event.

import { ChannelKind, EventType, EVERYONE_ROLE } from './event-types.js';
import { parsePermissionString } from './permissions.js';

export type Problem = string | null;

export const LIMITS = {
  guildName: [2, 100],
  channelName: [1, 100],
  roleName: [1, 100],
  nick: [1, 32],
  // A client writes at most 2,000 characters; a body carries mentions with global ids
  // (<@@alice:a.example> for <@snowflake>), which can make it longer.
  body: [1, 4000],
  emoji: [1, 64],
  topic: 1024,
  description: 1024,
  icon: 1024,
  reason: 512,
  nonce: 64,
  key: 64, // role and channel keys
  mentions: 100, // entries per mention list
} as const;

export function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Length in Unicode code points, so an emoji counts once whatever its UTF-16 size. */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** `@local:server` with both parts non-empty. */
export function isUserId(x: unknown): x is string {
  if (typeof x !== 'string' || x.length > 255 || !x.startsWith('@')) return false;
  const i = x.indexOf(':');
  return i > 1 && i < x.length - 1;
}

export function isEventId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 1 && x.length <= 255 && x.startsWith('$');
}

/** Role and channel keys: non-empty, no '|' (it separates overwrite keys), never a user id. */
export function isKey(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= LIMITS.key && !x.includes('|') && !x.startsWith('@');
}

function text(c: Record<string, unknown>, field: string, [min, max]: readonly [number, number]): Problem {
  const v = c[field];
  if (typeof v !== 'string') return `${field} must be a string`;
  const n = codePointLength(v);
  return n < min || n > max ? `${field} must be ${min}..${max} characters` : null;
}

function optText(c: Record<string, unknown>, field: string, max: number, nullable = true): Problem {
  const v = c[field];
  if (v === undefined || (nullable && v === null)) return null;
  if (typeof v !== 'string') return `${field} must be a string${nullable ? ' or null' : ''}`;
  return codePointLength(v) > max ? `${field} must be at most ${max} characters` : null;
}

function optBool(c: Record<string, unknown>, field: string): Problem {
  const v = c[field];
  return v === undefined || typeof v === 'boolean' ? null : `${field} must be a boolean`;
}

function position(c: Record<string, unknown>): Problem {
  const v = c.position;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : 'position must be an integer >= 0';
}

function optList(c: Record<string, unknown>, field: string, valid: (x: unknown) => boolean): Problem {
  const v = c[field];
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length > LIMITS.mentions || !v.every(valid)) {
    return `${field} must be an array of at most ${LIMITS.mentions} valid ids`;
  }
  return null;
}

function first(...problems: Problem[]): Problem {
  return problems.find((p) => p !== null) ?? null;
}

export function validateSettings(c: Record<string, unknown>): Problem {
  return first(
    text(c, 'name', LIMITS.guildName),
    optText(c, 'description', LIMITS.description),
    optText(c, 'icon', LIMITS.icon),
    optBool(c, 'discoverable'),
  );
}

const CHANNEL_KINDS: ReadonlySet<unknown> = new Set(Object.values(ChannelKind));

export function validateChannel(c: Record<string, unknown>, stateKey: string): Problem {
  if (!isKey(stateKey)) return 'channel key must be 1..64 characters without "|" or a leading "@"';
  if (!CHANNEL_KINDS.has(c.kind)) return 'kind must be a ChannelKind';
  if (c.parent !== undefined && c.parent !== null && !isKey(c.parent)) return 'parent must be a channel key or null';
  return first(
    text(c, 'name', LIMITS.channelName),
    position(c),
    optText(c, 'topic', LIMITS.topic),
    optBool(c, 'nsfw'),
    optBool(c, 'deleted'),
  );
}

export function validateRole(c: Record<string, unknown>, stateKey: string): Problem {
  if (!isKey(stateKey)) return 'role key must be 1..64 characters without "|" or a leading "@"';
  if (parsePermissionString(c.permissions) === null) return 'permissions must be a decimal bitfield of known bits';
  const color = c.color;
  if (color !== undefined && !(Number.isInteger(color) && (color as number) >= 0 && (color as number) <= 0xffffff)) {
    return 'color must be an integer 0..0xFFFFFF';
  }
  return first(
    text(c, 'name', LIMITS.roleName),
    position(c),
    optBool(c, 'hoist'),
    optBool(c, 'mentionable'),
    optBool(c, 'deleted'),
  );
}

const MEMBERSHIPS: ReadonlySet<unknown> = new Set(['join', 'leave', 'invite', 'ban']);

export function validateMember(c: Record<string, unknown>, stateKey: string): Problem {
  if (!isUserId(stateKey)) return 'member state_key must be a user id';
  if (!MEMBERSHIPS.has(c.membership)) return 'membership must be join, leave, invite or ban';
  const roles = c.roles;
  if (roles !== undefined) {
    if (!Array.isArray(roles) || !roles.every(isKey)) return 'roles must be an array of role keys';
    if (roles.includes(EVERYONE_ROLE)) return 'roles must not list the @everyone role';
    if (new Set(roles).size !== roles.length) return 'roles must not repeat';
  }
  if (c.nick !== undefined && c.nick !== null) {
    const p = text(c, 'nick', LIMITS.nick);
    if (p) return p;
  }
  if (c.authorised_by !== undefined && !isUserId(c.authorised_by)) return 'authorised_by must be a user id';
  return optText(c, 'reason', LIMITS.reason, false);
}

export function validateOverwrite(c: Record<string, unknown>, stateKey: string): Problem {
  if (!isKey(c.channel)) return 'channel must be a channel key';
  if (c.kind === 'role' ? !isKey(c.target) : c.kind === 'member' ? !isUserId(c.target) : true) {
    return 'kind must be role (target a role key) or member (target a user id)';
  }
  if (stateKey !== `${c.channel}|${c.target}`) return 'state_key must be `${channel}|${target}`';
  if (parsePermissionString(c.allow) === null) return 'allow must be a decimal bitfield of known bits';
  if (parsePermissionString(c.deny) === null) return 'deny must be a decimal bitfield of known bits';
  return optBool(c, 'deleted');
}

export function validatePin(c: Record<string, unknown>, stateKey: string): Problem {
  if (!isEventId(stateKey)) return 'pin state_key must be an event id';
  if (!isKey(c.channel)) return 'channel must be a channel key';
  return typeof c.pinned === 'boolean' ? null : 'pinned must be a boolean';
}

function mentionFields(c: Record<string, unknown>): Problem {
  return first(optList(c, 'mentions', isUserId), optList(c, 'mention_roles', isKey), optBool(c, 'mention_everyone'));
}

export function validateMessage(c: Record<string, unknown>): Problem {
  if (!isKey(c.channel)) return 'channel must be a channel key';
  if (c.reply_to !== undefined && !isEventId(c.reply_to)) return 'reply_to must be an event id';
  return first(
    text(c, 'body', LIMITS.body),
    optText(c, 'nonce', LIMITS.nonce, false),
    optBool(c, 'tts'),
    mentionFields(c),
  );
}

export function validateEdit(c: Record<string, unknown>): Problem {
  if (!isKey(c.channel)) return 'channel must be a channel key';
  if (!isEventId(c.target)) return 'target must be an event id';
  return first(text(c, 'body', LIMITS.body), mentionFields(c));
}

export function validateReaction(c: Record<string, unknown>): Problem {
  if (!isKey(c.channel)) return 'channel must be a channel key';
  if (!isEventId(c.target)) return 'target must be an event id';
  return text(c, 'emoji', LIMITS.emoji);
}

export function validateRedaction(c: Record<string, unknown>): Problem {
  if (!isEventId(c.redacts)) return 'redacts must be an event id';
  if (c.channel !== undefined && !isKey(c.channel)) return 'channel must be a channel key';
  return optText(c, 'reason', LIMITS.reason, false);
}

/** Content validity for any known type (create is checked by rule 1 itself). */
export function validateReadState(c: Record<string, unknown>, stateKey: string): Problem {
  if (typeof c.room !== 'string' || !c.room.startsWith('!') || !c.room.includes(':')) return 'room must be a room id';
  if (!isKey(c.channel)) return 'channel must be a channel key';
  if (!isEventId(c.event)) return 'event must be an event id';
  if (stateKey !== `${c.room}|${c.channel}`) return 'state_key must be `${room}|${channel}`';
  return null;
}

export function validateServerAcl(c: Record<string, unknown>, stateKey: string): Problem {
  if (stateKey !== '') return 'server ACL state_key must be ""';
  for (const k of ['allow', 'deny'] as const) {
    const list = c[k];
    if (!Array.isArray(list) || list.length > 100 || !list.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= 255)) {
      return `${k} must be a list of at most 100 patterns of 1..255 characters`;
    }
  }
  return null;
}

export function validateContent(type: string, stateKey: string | undefined, content: unknown): Problem {
  if (!isRecord(content)) return 'content must be an object';
  const sk = stateKey ?? '';
  switch (type) {
    case EventType.Settings:
      return validateSettings(content);
    case EventType.Channel:
      return validateChannel(content, sk);
    case EventType.Role:
      return validateRole(content, sk);
    case EventType.Member:
      return validateMember(content, sk);
    case EventType.Overwrite:
      return validateOverwrite(content, sk);
    case EventType.Pin:
      return validatePin(content, sk);
    case EventType.Message:
      return validateMessage(content);
    case EventType.Edit:
      return validateEdit(content);
    case EventType.Reaction:
      return validateReaction(content);
    case EventType.Redaction:
      return validateRedaction(content);
    case EventType.ReadState:
      return validateReadState(content, sk);
    case EventType.ServerAcl:
      return validateServerAcl(content, sk);
    default:
      return `unknown event type ${type}`;
  }
}
