import type { GuildRow } from '../../store/views/guilds.js';
import type { RoleRow } from '../../store/views/roles.js';
import type { ApiChannel } from './channel.js';
import type { ApiMember } from './member.js';
import { renderRole, type ApiRole } from './role.js';

/** Discord's guild object (https://discord.com/developers/docs/resources/guild#guild-object), plus `nexus_id` (the room id). */
export interface ApiGuild {
  id: string;
  name: string;
  icon: string | null;
  splash: null;
  discovery_splash: null;
  banner: null;
  description: string | null;
  owner_id: string;
  afk_channel_id: null;
  afk_timeout: number;
  widget_enabled: boolean;
  verification_level: number;
  default_message_notifications: number;
  explicit_content_filter: number;
  roles: ApiRole[];
  emojis: never[];
  stickers: never[];
  features: string[];
  mfa_level: number;
  application_id: null;
  system_channel_id: null;
  system_channel_flags: number;
  rules_channel_id: null;
  public_updates_channel_id: null;
  safety_alerts_channel_id: null;
  max_presences: null;
  max_members: number;
  max_video_channel_users: number;
  vanity_url_code: null;
  premium_tier: number;
  premium_subscription_count: number;
  premium_progress_bar_enabled: boolean;
  preferred_locale: string;
  nsfw_level: number;
  approximate_member_count?: number;
  nexus_id: string;
}

/** Everything GUILD_CREATE adds to the guild object (https://discord.com/developers/docs/events/gateway-events#guild-create). */
export interface ApiGuildCreate extends ApiGuild {
  joined_at: string;
  large: boolean;
  unavailable: false;
  member_count: number;
  members: ApiMember[];
  channels: ApiChannel[];
  threads: never[];
  presences: never[];
  voice_states: unknown[];
  stage_instances: never[];
  guild_scheduled_events: never[];
  soundboard_sounds: never[];
}

export const MAX_MEMBERS = 500000;
/** Discord's default large_threshold: above it GUILD_CREATE carries only some members. */
export const LARGE_THRESHOLD = 250;

export function guildFeatures(guild: Pick<GuildRow, 'discoverable'>): string[] {
  return guild.discoverable ? ['DISCOVERABLE'] : [];
}

export interface GuildRenderOptions {
  /** The owner's user snowflake (guild.owner is a nexus id; see userSnowflake). */
  ownerSnowflake: string;
  /** Sent as approximate_member_count (GET /guilds/{id}?with_counts=true, the directory). */
  approximateMemberCount?: number;
}

/** `roles` are the guild's live roles (listGuildRoles), @everyone included. */
export function renderGuild(guild: GuildRow, roles: RoleRow[], opts: GuildRenderOptions): ApiGuild {
  const out: ApiGuild = {
    id: String(guild.id),
    name: guild.name,
    icon: guild.icon,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: guild.description,
    owner_id: opts.ownerSnowflake,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: roles.map(renderRole),
    emojis: [],
    stickers: [],
    features: guildFeatures(guild),
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    max_presences: null,
    max_members: MAX_MEMBERS,
    max_video_channel_users: 25,
    vanity_url_code: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    nexus_id: guild.room_id,
  };
  if (opts.approximateMemberCount !== undefined) out.approximate_member_count = opts.approximateMemberCount;
  return out;
}

export interface GuildCreateOptions extends GuildRenderOptions {
  /** Rendered channels: discord.js drops messages for channels it wasn't told about. */
  channels: ApiChannel[];
  /** Rendered members (all of them, or at least the session's own for a large guild). */
  members: ApiMember[];
  memberCount: number;
  /** When the receiving user joined (ISO). */
  joinedAt: string;
  voiceStates?: unknown[];
}

/** The guild as GUILD_CREATE (and READY-time lazy loading) sends it. */
export function renderGuildCreate(guild: GuildRow, roles: RoleRow[], opts: GuildCreateOptions): ApiGuildCreate {
  return {
    ...renderGuild(guild, roles, opts),
    joined_at: opts.joinedAt,
    large: opts.memberCount > LARGE_THRESHOLD,
    unavailable: false,
    member_count: opts.memberCount,
    members: opts.members,
    channels: opts.channels,
    threads: [],
    presences: [],
    voice_states: opts.voiceStates ?? [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
