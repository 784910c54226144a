import { ChannelKind } from '../../events/event-types.js';
import type { ChannelRow, OverwriteRow } from '../../store/views/channels.js';
import type { UserRow } from '../../store/views/users.js';
import { userSnowflake, type ApiUser } from './user.js';

/** Discord's overwrite object: type 0 = role, 1 = member. */
export interface ApiOverwrite {
  id: string;
  type: 0 | 1;
  allow: string;
  deny: string;
}

/** Discord's guild channel object (https://discord.com/developers/docs/resources/channel#channel-object), plus `nexus_id` (the channel key). */
export interface ApiChannel {
  id: string;
  type: number;
  guild_id: string;
  name: string;
  position: number;
  parent_id: string | null;
  permission_overwrites: ApiOverwrite[];
  flags: number;
  nsfw?: boolean;
  topic?: string | null;
  last_message_id?: string | null;
  rate_limit_per_user?: number;
  bitrate?: number;
  user_limit?: number;
  rtc_region?: string | null;
  nexus_id: string;
}

export interface ChannelLookups {
  /** channel key → snowflake, for parent_id (channels of the same guild). */
  channelIdsByKey: ReadonlyMap<string, string>;
  /** role key → snowflake, for role overwrites. */
  roleIdsByKey: ReadonlyMap<string, string>;
  /** nexus id → user, for member overwrites (unknown users get their placeholder id). */
  users?: ReadonlyMap<string, Pick<UserRow, 'id'>>;
}

/**
 * An overwrite row as Discord shows it; null for an overwrite of a role that no longer
 * exists (Discord drops those too). A target starting with '@' is a user id, anything
 * else a role key.
 */
export function renderOverwrite(row: OverwriteRow, lookups: Omit<ChannelLookups, 'channelIdsByKey'>): ApiOverwrite | null {
  if (row.target.startsWith('@')) {
    return { id: userSnowflake(row.target, lookups.users ?? new Map()), type: 1, allow: row.allow, deny: row.deny };
  }
  const roleId = lookups.roleIdsByKey.get(row.target);
  return roleId === undefined ? null : { id: roleId, type: 0, allow: row.allow, deny: row.deny };
}

export function renderChannel(channel: ChannelRow, overwrites: OverwriteRow[], lookups: ChannelLookups): ApiChannel {
  const base: ApiChannel = {
    id: String(channel.id),
    type: channel.kind,
    guild_id: String(channel.guild_id),
    name: channel.name,
    position: channel.position,
    parent_id: channel.parent_key === null ? null : lookups.channelIdsByKey.get(channel.parent_key) ?? null,
    permission_overwrites: overwrites
      .filter((o) => o.channel_key === channel.channel_key)
      .map((o) => renderOverwrite(o, lookups))
      .filter((o): o is ApiOverwrite => o !== null),
    flags: 0,
    nexus_id: channel.channel_key,
  };
  // Categories carry no messages; text and voice channels do (Discord's voice channels
  // have a text chat), and voice channels add their audio settings.
  if (channel.kind === ChannelKind.Category) return base;
  const textual = { ...base, nsfw: channel.nsfw, last_message_id: channel.last_message_id === null ? null : String(channel.last_message_id), rate_limit_per_user: 0 };
  if (channel.kind === ChannelKind.Voice) return { ...textual, bitrate: 64000, user_limit: 0, rtc_region: null };
  return { ...textual, topic: channel.topic };
}

/** Discord's DM channel object (type 1), plus `nexus_id`: the DM room's id. */
export interface ApiDmChannel {
  id: string;
  type: 1;
  last_message_id: string | null;
  recipients: ApiUser[];
  flags: number;
  nexus_id: string;
}

export function renderDmChannel(channel: ChannelRow, recipients: ApiUser[], roomId: string): ApiDmChannel {
  return {
    id: String(channel.id),
    type: 1,
    last_message_id: channel.last_message_id === null ? null : String(channel.last_message_id),
    recipients,
    flags: 0,
    nexus_id: roomId,
  };
}
