import { basePermissions, channelPermissions, has, Permission } from '../events/permissions.js';
import { isJoined, type StateMap } from '../events/state-map.js';
import { isSnowflake } from '../snowflake.js';
import { getChannelById, type ChannelRow } from '../store/views/channels.js';
import { getGuildById, type GuildRow } from '../store/views/guilds.js';
import type { UserRow } from '../store/views/users.js';
import type { ApiContext } from './context.js';
import { apiError } from './errors.js';

export interface GuildAccess {
  guild: GuildRow;
  state: StateMap;
  perms: bigint; // the user's guild-level permissions
}

export interface ChannelAccess extends GuildAccess {
  channel: ChannelRow;
  perms: bigint; // the user's permissions in this channel
}

/**
 * The guild, if the user is a member of it. A guild the user is not in does not exist as far
 * as they are concerned: 404, the same answer as for an id that was never used.
 */
export async function guildAccess(ctx: ApiContext, user: UserRow, guildId: string): Promise<GuildAccess> {
  const guild = isSnowflake(guildId) ? await getGuildById(ctx.db, guildId) : undefined;
  if (!guild) throw apiError('unknownGuild');
  const state = await ctx.writer.stateOf(guild.room_id);
  if (!isJoined(state, user.nexus_id)) throw apiError('unknownGuild');
  return { guild, state, perms: basePermissions(state, user.nexus_id) };
}

/** The channel, if the user is in its guild (else 404) and may view it (else 403 50001). */
export async function channelAccess(ctx: ApiContext, user: UserRow, channelId: string): Promise<ChannelAccess> {
  const channel = isSnowflake(channelId) ? await getChannelById(ctx.db, channelId) : undefined;
  if (!channel || channel.deleted) throw apiError('unknownChannel');
  const guild = await getGuildById(ctx.db, channel.guild_id);
  if (!guild) throw apiError('unknownChannel');
  const state = await ctx.writer.stateOf(guild.room_id);
  if (!isJoined(state, user.nexus_id)) throw apiError('unknownChannel');
  const perms = channelPermissions(state, user.nexus_id, channel.channel_key);
  if (!has(perms, Permission.VIEW_CHANNEL)) throw apiError('missingAccess');
  return { guild, state, channel, perms };
}

/**
 * Refuses early, with Discord's 50013, what the auth rules would refuse anyway: the rules
 * stay the authority (they run again on append), this only spares a round trip.
 */
export function requirePermission(perms: bigint, bit: bigint): void {
  if (!has(perms, bit)) throw apiError('missingPermissions');
}
