// Discord's permission model, computed from guild state. The same functions serve the
// client API ("may this user do X?") and the auth rules, so both always agree.
// Reference: https://discord.com/developers/docs/topics/permissions

import { EVERYONE_ROLE } from './event-types.js';
import {
  dmParticipants,
  getChannel,
  getMember,
  getOverwrite,
  getOwner,
  getRole,
  memberRoleKeys,
  type StateMap,
} from './state-map.js';

/** Discord's permission bits (room version 1 knows bits 0..30). */
export const Permission = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  PRIORITY_SPEAKER: 1n << 8n,
  STREAM: 1n << 9n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  SEND_TTS_MESSAGES: 1n << 12n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  USE_EXTERNAL_EMOJIS: 1n << 18n,
  VIEW_GUILD_INSIGHTS: 1n << 19n,
  CONNECT: 1n << 20n,
  SPEAK: 1n << 21n,
  MUTE_MEMBERS: 1n << 22n,
  DEAFEN_MEMBERS: 1n << 23n,
  MOVE_MEMBERS: 1n << 24n,
  USE_VAD: 1n << 25n,
  CHANGE_NICKNAME: 1n << 26n,
  MANAGE_NICKNAMES: 1n << 27n,
  MANAGE_ROLES: 1n << 28n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MANAGE_GUILD_EXPRESSIONS: 1n << 30n,
} as const;
export type PermissionName = keyof typeof Permission;

export const ALL_PERMISSIONS: bigint = Object.values(Permission).reduce((a, b) => a | b, 0n);

/** What a new guild's @everyone role gets (close to Discord's defaults for a new guild). */
export const DEFAULT_EVERYONE_PERMISSIONS: bigint =
  Permission.VIEW_CHANNEL |
  Permission.SEND_MESSAGES |
  Permission.READ_MESSAGE_HISTORY |
  Permission.ADD_REACTIONS |
  Permission.CREATE_INSTANT_INVITE |
  Permission.EMBED_LINKS |
  Permission.ATTACH_FILES |
  Permission.MENTION_EVERYONE |
  Permission.USE_EXTERNAL_EMOJIS |
  Permission.CONNECT |
  Permission.SPEAK |
  Permission.USE_VAD |
  Permission.CHANGE_NICKNAME |
  Permission.SEND_TTS_MESSAGES;

/**
 * What each joined participant of a DM holds in it (rule 15): the text permissions, and
 * nothing that acts on the other participant (no MANAGE_MESSAGES, no MENTION_EVERYONE).
 */
export const DM_PERMISSIONS: bigint =
  Permission.VIEW_CHANNEL |
  Permission.SEND_MESSAGES |
  Permission.READ_MESSAGE_HISTORY |
  Permission.ADD_REACTIONS |
  Permission.EMBED_LINKS |
  Permission.ATTACH_FILES |
  Permission.USE_EXTERNAL_EMOJIS;

// Discord's documented implicit rule: without SEND_MESSAGES these are denied too.
const NEEDS_SEND_MESSAGES =
  Permission.MENTION_EVERYONE | Permission.SEND_TTS_MESSAGES | Permission.ATTACH_FILES | Permission.EMBED_LINKS;

// ADMINISTRATOR is guild-wide: a channel overwrite can neither grant nor remove it.
const OVERWRITABLE = ALL_PERMISSIONS & ~Permission.ADMINISTRATOR;

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/**
 * Parses a decimal-string bitfield as stored in events. Returns null unless it is a
 * canonical decimal (no sign, no leading zeros) using only known bits: an event naming a
 * bit this room version doesn't define is invalid, so every server reads it the same way.
 */
export function parsePermissionString(s: unknown): bigint | null {
  if (typeof s !== 'string' || !DECIMAL.test(s)) return null;
  const v = BigInt(s);
  return (v & ~ALL_PERMISSIONS) === 0n ? v : null;
}

/**
 * For client input (discord.js may send bits newer than ours): parses any canonical
 * decimal below 2^64 and drops unknown bits. The API uses this before building an event.
 */
export function sanitizePermissionInput(s: unknown): bigint | null {
  const str = typeof s === 'number' && Number.isSafeInteger(s) && s >= 0 ? String(s) : s;
  if (typeof str !== 'string' || !DECIMAL.test(str)) return null;
  const v = BigInt(str);
  return v < 1n << 64n ? v & ALL_PERMISSIONS : null;
}

export function formatPermissions(bits: bigint): string {
  return bits.toString(10);
}

/** Names of the set bits, for logs and error messages. */
export function permissionNames(bits: bigint): PermissionName[] {
  return (Object.keys(Permission) as PermissionName[]).filter((n) => (bits & Permission[n]) !== 0n);
}

/** True if every bit of `bit` is in `perms`. */
export function has(perms: bigint, bit: bigint): boolean {
  return (perms & bit) === bit;
}

function rolePermissions(state: StateMap, roleKey: string): bigint {
  return parsePermissionString(getRole(state, roleKey)?.permissions) ?? 0n;
}

/** The live (not deleted) role keys a joined member holds, without @everyone. */
function liveRoles(state: StateMap, userId: string): string[] {
  return memberRoleKeys(getMember(state, userId)).filter((r) => r !== EVERYONE_ROLE && getRole(state, r));
}

/**
 * Guild-level permissions (Discord's compute_base_permissions): 0 unless joined; in a DM,
 * DM_PERMISSIONS (only participants ever join one); the owner
 * gets everything; else @everyone | each role; ADMINISTRATOR turns into everything.
 */
export function basePermissions(state: StateMap, userId: string): bigint {
  const member = getMember(state, userId);
  if (member?.membership !== 'join') return 0n;
  if (dmParticipants(state)) return DM_PERMISSIONS; // a DM has no owner, roles or overwrites
  if (getOwner(state) === userId) return ALL_PERMISSIONS;
  let perms = rolePermissions(state, EVERYONE_ROLE);
  for (const role of liveRoles(state, userId)) perms |= rolePermissions(state, role);
  return has(perms, Permission.ADMINISTRATOR) ? ALL_PERMISSIONS : perms;
}

function overwriteBits(s: string | undefined): bigint {
  return (parsePermissionString(s) ?? 0n) & OVERWRITABLE;
}

/**
 * Permissions in one channel (Discord's compute_overwrites, then implicit permissions):
 * base; ADMINISTRATOR/owner → everything; @everyone overwrite (deny then allow); all role
 * overwrites together (deny all, then allow all); the member's own overwrite. Then: no
 * VIEW_CHANNEL → nothing; no SEND_MESSAGES → no mention-everyone/TTS/attach/embed.
 * 0 if the channel doesn't exist (or was deleted).
 */
export function channelPermissions(state: StateMap, userId: string, channelKey: string): bigint {
  if (!getChannel(state, channelKey)) return 0n;
  const base = basePermissions(state, userId);
  if (has(base, Permission.ADMINISTRATOR)) return ALL_PERMISSIONS;
  if (getMember(state, userId)?.membership !== 'join') return 0n; // overwrites never admit outsiders
  let perms = base;
  const everyone = getOverwrite(state, channelKey, EVERYONE_ROLE);
  if (everyone) perms = (perms & ~overwriteBits(everyone.deny)) | overwriteBits(everyone.allow);
  let allow = 0n;
  let deny = 0n;
  for (const role of liveRoles(state, userId)) {
    const ow = getOverwrite(state, channelKey, role);
    if (!ow) continue;
    allow |= overwriteBits(ow.allow);
    deny |= overwriteBits(ow.deny);
  }
  perms = (perms & ~deny) | allow;
  const own = getOverwrite(state, channelKey, userId);
  if (own) perms = (perms & ~overwriteBits(own.deny)) | overwriteBits(own.allow);
  if (!has(perms, Permission.VIEW_CHANNEL)) return 0n;
  if (!has(perms, Permission.SEND_MESSAGES)) perms &= ~NEEDS_SEND_MESSAGES;
  return perms;
}

/**
 * The position of the member's highest role (@everyone is 0); +Infinity for the owner;
 * 0 for anyone not joined. Deleted roles don't count.
 */
export function topRolePosition(state: StateMap, userId: string): number {
  const member = getMember(state, userId);
  if (member?.membership !== 'join') return 0;
  if (getOwner(state) === userId) return Number.POSITIVE_INFINITY;
  let top = 0;
  for (const role of liveRoles(state, userId)) {
    const p = getRole(state, role)?.position;
    if (typeof p === 'number' && p > top) top = p;
  }
  return top;
}

/** Discord's hierarchy: the actor's highest role is strictly above the target's. */
export function outranks(state: StateMap, actor: string, target: string): boolean {
  return topRolePosition(state, actor) > topRolePosition(state, target);
}
