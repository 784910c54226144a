import type { ChannelRow } from '../../store/views/channels.js';
import type { GuildRow } from '../../store/views/guilds.js';
import type { InviteRow } from '../../store/views/invites.js';
import { isoTime } from './common.js';
import { guildFeatures } from './guild.js';
import { renderUserOf, type ApiUser, type RenderableUser } from './user.js';

/** The partial guild an invite shows (discord-api-types' APIInviteGuild), plus `nexus_id`. */
export interface ApiInviteGuild {
  id: string;
  name: string;
  icon: string | null;
  splash: null;
  banner: null;
  description: string | null;
  features: string[];
  verification_level: number;
  vanity_url_code: null;
  nsfw_level: number;
  premium_subscription_count: number;
  nexus_id: string;
}

/** Discord's invite object with metadata (https://discord.com/developers/docs/resources/invite). */
export interface ApiInvite {
  code: string;
  type: 0;
  guild: ApiInviteGuild;
  channel: { id: string; type: number; name: string };
  inviter: ApiUser;
  max_age: number;
  max_uses: number;
  uses: number;
  temporary: boolean;
  created_at: string;
  expires_at: string | null;
  approximate_member_count?: number;
}

/**
 * The preview of another server's invite to a guild this server does not hold yet: the
 * guild and channel have no snowflakes here until someone joins, so their `id`s are null
 * and `nexus_id` names the guild.
 */
export interface ApiRemoteInvitePreview {
  code: string;
  type: 0;
  guild: Omit<ApiInviteGuild, 'id'> & { id: null };
  channel: { id: null; type: number; name: string };
  expires_at: string | null;
  approximate_member_count?: number;
}

export function renderRemoteInvitePreview(
  code: string,
  remote: { roomId: string; guildName: string; channelName: string; channelKind: number; memberCount?: number; expiresTs: number | null },
  withCounts: boolean,
): ApiRemoteInvitePreview {
  const out: ApiRemoteInvitePreview = {
    code,
    type: 0,
    guild: {
      id: null, name: remote.guildName, icon: null, splash: null, banner: null, description: null, features: [],
      verification_level: 0, vanity_url_code: null, nsfw_level: 0, premium_subscription_count: 0, nexus_id: remote.roomId,
    },
    channel: { id: null, type: remote.channelKind, name: remote.channelName },
    expires_at: remote.expiresTs === null ? null : isoTime(remote.expiresTs),
  };
  if (withCounts && remote.memberCount !== undefined) out.approximate_member_count = remote.memberCount;
  return out;
}

/** When an invite stops working; max_age 0 means never. */
export function inviteExpiresAt(invite: Pick<InviteRow, 'max_age' | 'created_ts'>): string | null {
  return invite.max_age === 0 ? null : isoTime(Number(invite.created_ts) + invite.max_age * 1000);
}

/** `inviter` may be missing for a remote user with no `users` row (a placeholder stands in). */
export function renderInvite(
  invite: InviteRow,
  guild: GuildRow,
  channel: Pick<ChannelRow, 'id' | 'kind' | 'name'>,
  inviter: RenderableUser | undefined,
  opts: { approximateMemberCount?: number } = {},
): ApiInvite {
  const out: ApiInvite = {
    code: invite.code,
    type: 0,
    guild: {
      id: String(guild.id),
      name: guild.name,
      icon: guild.icon,
      splash: null,
      banner: null,
      description: guild.description,
      features: guildFeatures(guild),
      verification_level: 0,
      vanity_url_code: null,
      nsfw_level: 0,
      premium_subscription_count: 0,
      nexus_id: guild.room_id,
    },
    channel: { id: String(channel.id), type: channel.kind, name: channel.name },
    inviter: renderUserOf(invite.inviter, inviter ? new Map([[invite.inviter, inviter]]) : new Map()),
    max_age: invite.max_age,
    max_uses: invite.max_uses,
    uses: invite.uses,
    temporary: invite.temporary,
    created_at: isoTime(invite.created_ts),
    expires_at: inviteExpiresAt(invite),
  };
  if (opts.approximateMemberCount !== undefined) out.approximate_member_count = opts.approximateMemberCount;
  return out;
}
