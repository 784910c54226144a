// What the simulated users of the state resolution tests do: each action turns a few
// random numbers and the state before the event into an event to try. Most tries are
// refused by the auth rules (the actor lacks the rights): the DAG only keeps the others.

import { ChannelKind, EventType as T, EVERYONE_ROLE, serverOf } from '../../../src/events/event-types.js';
import { basePermissions, has, Permission as P } from '../../../src/events/permissions.js';
import { getChannel, getMember, getStateEvent, isJoined, membershipOf, type StateMap } from '../../../src/events/state-map.js';
import type { EventSpec } from './sim-dag.js';

export const OWNER = '@o:a';
export const PLAIN_A = '@p:a';
export const MOD = '@m:b';
export const PLAIN_B = '@q:b';
export const HELPER = '@h:c';
export const PLAIN_C = '@r:c';
export const OUTSIDER = '@x:c';
export const USERS_BY_SERVER: Record<string, string[]> = {
  a: [OWNER, PLAIN_A],
  b: [MOD, PLAIN_B],
  c: [HELPER, PLAIN_C, OUTSIDER],
};
export const ALL_USERS = [OWNER, PLAIN_A, MOD, PLAIN_B, HELPER, PLAIN_C, OUTSIDER];
export const ROLE_KEYS = ['mod', 'helper', 'r1', 'r2'];
export const CHANNEL_KEYS = ['general', 'c1', 'cat'];

export const MOD_PERMS =
  P.MANAGE_ROLES | P.BAN_MEMBERS | P.KICK_MEMBERS | P.MANAGE_CHANNELS | P.CREATE_INSTANT_INVITE | P.MANAGE_GUILD | P.MANAGE_NICKNAMES;
export const HELPER_PERMS = P.KICK_MEMBERS | P.CREATE_INSTANT_INVITE | P.MANAGE_CHANNELS | P.MANAGE_ROLES;

const ROLE_PERM_POOL = [
  P.VIEW_CHANNEL,
  P.SEND_MESSAGES,
  P.MANAGE_ROLES,
  P.BAN_MEMBERS,
  P.KICK_MEMBERS,
  P.CREATE_INSTANT_INVITE,
  P.MANAGE_CHANNELS,
  P.MANAGE_GUILD,
  P.CHANGE_NICKNAME,
];
const OVERWRITE_POOL = [P.SEND_MESSAGES, P.VIEW_CHANNEL, P.MANAGE_ROLES, P.ADD_REACTIONS, P.MANAGE_CHANNELS];

export type Draft = Omit<EventSpec, 'prevs' | 'ts'>;
type Builder = (actor: string, state: StateMap, c: number) => Draft | undefined;

const pick = <X>(xs: readonly X[], n: number): X => xs[n % xs.length];
const bitsFrom = (pool: readonly bigint[], mask: number): bigint =>
  pool.reduce((acc, bit, i) => ((mask >> i) & 1 ? acc | bit : acc), 0n);

function memberContent(state: StateMap, user: string): Record<string, unknown> {
  const m = getMember(state, user);
  const content: Record<string, unknown> = { membership: 'join' };
  if (m?.roles && m.roles.length > 0) content.roles = [...m.roles];
  if (typeof m?.nick === 'string') content.nick = m.nick;
  return content;
}

const message: Builder = (actor, _s, c) => ({
  type: T.Message,
  sender: actor,
  content: { channel: pick(['general', 'c1'], c), body: `hello ${c}` },
});

const roleEdit: Builder = (actor, _s, c) => {
  const key = pick([...ROLE_KEYS, EVERYONE_ROLE], c);
  const permissions = bitsFrom(ROLE_PERM_POOL, c >> 3).toString();
  const position = key === EVERYONE_ROLE ? 0 : 1 + ((c >> 12) % 6);
  return { type: T.Role, sender: actor, stateKey: key, content: { name: key, permissions, position } };
};

const roleDelete: Builder = (actor, s, c) => {
  const key = pick(ROLE_KEYS, c);
  const old = getStateEvent(s, T.Role, key)?.pdu.content;
  if (!old || old.deleted === true) return undefined;
  return { type: T.Role, sender: actor, stateKey: key, content: { ...old, deleted: true } };
};

const grant: Builder = (actor, s, c) => {
  const target = pick(ALL_USERS, c);
  if (!isJoined(s, target)) return undefined;
  const role = pick(ROLE_KEYS, c >> 4);
  const content = memberContent(s, target);
  const roles = new Set((content.roles as string[] | undefined) ?? []);
  if (roles.has(role)) roles.delete(role);
  else roles.add(role);
  if (roles.size > 0) content.roles = [...roles].sort();
  else delete content.roles;
  return { type: T.Member, sender: actor, stateKey: target, content };
};

const otherMembership =
  (membership: string): Builder =>
  (actor, _s, c) => {
    const target = pick(ALL_USERS, c);
    return target === actor ? undefined : { type: T.Member, sender: actor, stateKey: target, content: { membership } };
  };

const join: Builder = (actor, s, c) => {
  if (isJoined(s, actor)) return undefined;
  if (membershipOf(s, actor) === 'invite') return { type: T.Member, sender: actor, stateKey: actor, content: { membership: 'join' } };
  const voucher = ALL_USERS.map((_, i) => ALL_USERS[(c + i) % ALL_USERS.length]).find(
    (u) => u !== actor && has(basePermissions(s, u), P.CREATE_INSTANT_INVITE),
  );
  if (!voucher) return undefined;
  const cosign = serverOf(voucher) === serverOf(actor) ? undefined : [serverOf(voucher)];
  return { type: T.Member, sender: actor, stateKey: actor, content: { membership: 'join', authorised_by: voucher }, cosign };
};

const leave: Builder = (actor) => ({ type: T.Member, sender: actor, stateKey: actor, content: { membership: 'leave' } });

const nick: Builder = (actor, s, c) =>
  isJoined(s, actor) ? { type: T.Member, sender: actor, stateKey: actor, content: { ...memberContent(s, actor), nick: `n${c % 100}` } } : undefined;

const channel: Builder = (actor, s, c) => {
  const key = pick(CHANNEL_KEYS, c);
  const kind = key === 'cat' ? ChannelKind.Category : ChannelKind.Text;
  const content: Record<string, unknown> = { name: `${key}-${c % 10}`, kind, position: c % 4 };
  if (key === 'c1' && (c >> 3) % 2 === 0 && getChannel(s, 'cat')) content.parent = 'cat';
  if (key !== 'general' && (c >> 5) % 5 === 0) content.deleted = true;
  return { type: T.Channel, sender: actor, stateKey: key, content };
};

const overwrite: Builder = (actor, _s, c) => {
  const chan = pick(['general', 'c1'], c);
  const target = pick([EVERYONE_ROLE, ...ROLE_KEYS, PLAIN_A, PLAIN_B, PLAIN_C], c >> 1);
  const allow = bitsFrom(OVERWRITE_POOL, c >> 4);
  const deny = bitsFrom(OVERWRITE_POOL, c >> 9) & ~allow;
  const content: Record<string, unknown> = {
    channel: chan,
    target,
    kind: target.startsWith('@') ? 'member' : 'role',
    allow: allow.toString(),
    deny: deny.toString(),
  };
  if ((c >> 14) % 6 === 0) content.deleted = true;
  return { type: T.Overwrite, sender: actor, stateKey: `${chan}|${target}`, content };
};

const settings: Builder = (actor, _s, c) => ({ type: T.Settings, sender: actor, stateKey: '', content: { name: `guild ${c % 1000}` } });

/** Weighted: power events are what resolution is about, so they come most often. */
export const ACTIONS: Record<string, Builder> = {
  message,
  roleEdit,
  roleDelete,
  grant,
  ban: otherMembership('ban'),
  kickOrUnban: otherMembership('leave'),
  invite: otherMembership('invite'),
  join,
  leave,
  nick,
  channel,
  overwrite,
  settings,
};
export const ACTION_WHEEL: string[] = [
  ...['message', 'roleEdit', 'roleEdit', 'roleDelete', 'grant', 'grant', 'grant', 'ban', 'ban', 'kickOrUnban'],
  ...['kickOrUnban', 'invite', 'join', 'join', 'leave', 'nick', 'channel', 'channel', 'overwrite', 'overwrite', 'settings'],
];
