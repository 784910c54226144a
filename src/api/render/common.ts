import type { ChannelRow } from '../../store/views/channels.js';
import type { RoleRow } from '../../store/views/roles.js';

/**
 * Shared helpers of the renderers. Renderers are pure: they turn view rows (and lookup
 * maps built from more view rows) into Discord API objects, and never touch the database.
 */

/** Discord's timestamps are ISO 8601; bigint columns arrive as strings. */
export function isoTime(ms: number | string): string {
  return new Date(Number(ms)).toISOString();
}

export function isoTimeOrNull(ms: number | string | null | undefined): string | null {
  return ms === null || ms === undefined ? null : isoTime(ms);
}

/** role key → role snowflake, for members' roles, mention_roles and overwrites. */
export function roleIdsByKey(roles: Iterable<Pick<RoleRow, 'role_key' | 'id'>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of roles) out.set(r.role_key, String(r.id));
  return out;
}

/** channel key → channel snowflake, for parent_id and references to channels by key. */
export function channelIdsByKey(channels: Iterable<Pick<ChannelRow, 'channel_key' | 'id'>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of channels) out.set(c.channel_key, String(c.id));
  return out;
}
