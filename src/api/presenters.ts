import type { Db } from '../store/database.js';
import { getChannelByKey, listGuildChannels, listOverwrites, overwritesByChannel, type ChannelRow } from '../store/views/channels.js';
import { getGuildByRoomId, type GuildRow } from '../store/views/guilds.js';
import { DM_CHANNEL } from '../events/event-types.js';
import { countMembers, getMember, listMembers } from '../store/views/members.js';
import { messagesByEventIds, reactionsFor, type MessageRow } from '../store/views/messages.js';
import { listGuildRoles } from '../store/views/roles.js';
import { usersByNexusIds } from '../store/views/users.js';
import { channelIdsByKey, isoTime, roleIdsByKey } from './render/common.js';
import { renderChannel, renderDmChannel, type ApiChannel, type ApiDmChannel } from './render/channel.js';
import { renderGuild, renderGuildCreate, type ApiGuild, type ApiGuildCreate } from './render/guild.js';
import { renderMember, type ApiMember } from './render/member.js';
import { renderMessage, type ApiMessage } from './render/message.js';
import { mentionsChannel } from './render/mention-text.js';
import { renderUserOf, userSnowflake, type RenderableUser } from './render/user.js';

// Presenters: view rows → complete Discord objects, with the lookups each needs batched.
// The REST routes and the gateway share them, so an object looks the same on both.

/** The guild_id Discord shows for objects of this room: none for a DM. */
export function apiGuildId(guild: GuildRow): string | undefined {
  return guild.kind === 'dm' ? undefined : String(guild.id);
}

/** A DM room's channel as `viewer` sees it; undefined if the room is not a DM held here. Only participants are ever members of a DM (rule 15). */
export async function presentDm(db: Db, roomId: string, viewer: string): Promise<ApiDmChannel | undefined> {
  const [guild, channel, members] = await Promise.all([
    getGuildByRoomId(db, roomId),
    getChannelByKey(db, roomId, DM_CHANNEL),
    db.selectFrom('members').select('user_id').where('room_id', '=', roomId).execute(),
  ]);
  if (guild?.kind !== 'dm' || !channel) return undefined;
  return presentDmChannel(db, guild, channel, members.map((m) => m.user_id), viewer);
}

/** A DM channel as `viewer` sees it: its recipients are the other participant(s). */
export async function presentDmChannel(db: Db, guild: GuildRow, channel: ChannelRow, participants: readonly string[], viewer: string): Promise<ApiDmChannel> {
  const others = participants.filter((u) => u !== viewer);
  const users = await usersByNexusIds(db, others);
  return renderDmChannel(channel, others.map((u) => renderUserOf(u, users)), guild.room_id);
}

export async function presentGuild(db: Db, guild: GuildRow, opts: { withCounts?: boolean } = {}): Promise<ApiGuild> {
  const [roles, owners] = await Promise.all([listGuildRoles(db, guild.id), usersByNexusIds(db, [guild.owner])]);
  const count = opts.withCounts ? await countMembers(db, guild.room_id) : undefined;
  return renderGuild(guild, roles, { ownerSnowflake: userSnowflake(guild.owner, owners), approximateMemberCount: count });
}

export async function presentChannels(db: Db, guild: GuildRow, only?: ChannelRow[]): Promise<ApiChannel[]> {
  const [channels, roles, overwrites] = await Promise.all([
    listGuildChannels(db, guild.id),
    listGuildRoles(db, guild.id),
    listOverwrites(db, guild.room_id),
  ]);
  const memberTargets = overwrites.filter((o) => o.target.startsWith('@')).map((o) => o.target);
  const users = await usersByNexusIds(db, memberTargets);
  const lookups = { channelIdsByKey: channelIdsByKey(channels), roleIdsByKey: roleIdsByKey(roles), users };
  const byChannel = overwritesByChannel(overwrites);
  return (only ?? channels).map((c) => renderChannel(c, byChannel.get(c.channel_key) ?? [], lookups));
}

export async function presentChannel(db: Db, guild: GuildRow, channel: ChannelRow): Promise<ApiChannel> {
  return (await presentChannels(db, guild, [channel]))[0];
}

export async function presentMember(db: Db, guild: GuildRow, nexusId: string): Promise<ApiMember | undefined> {
  const member = await getMember(db, guild.room_id, nexusId);
  if (!member || member.membership !== 'join') return undefined;
  const [users, roles] = await Promise.all([usersByNexusIds(db, [nexusId]), listGuildRoles(db, guild.id)]);
  return renderMember(member, users.get(nexusId), roleIdsByKey(roles));
}

export async function presentMembers(db: Db, guild: GuildRow, page: { limit?: number; after?: string } = {}): Promise<ApiMember[]> {
  const [rows, roles] = await Promise.all([listMembers(db, guild.room_id, page), listGuildRoles(db, guild.id)]);
  const ids = roleIdsByKey(roles);
  return rows.map(({ member, user }) => renderMember(member, user, ids));
}

/** Every joined member, paged through the view 1000 at a time (op 8 "all members", member search). */
export async function presentAllMembers(db: Db, guild: GuildRow): Promise<ApiMember[]> {
  const out: ApiMember[] = [];
  for (let after: string | undefined; ; ) {
    const page = await presentMembers(db, guild, { limit: 1000, after });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1].user.id;
  }
}

/** Messages with their authors, mentions, reactions (`me` from the viewer) and reply targets. */
export async function presentMessages(db: Db, guild: GuildRow, rows: MessageRow[], viewer?: string): Promise<ApiMessage[]> {
  if (rows.length === 0) return [];
  const replyIds = rows.map((r) => r.reply_to).filter((x): x is string => typeof x === 'string');
  const [replies, reactions, roles] = await Promise.all([
    messagesByEventIds(db, replyIds),
    reactionsFor(db, rows.map((r) => r.id)),
    listGuildRoles(db, guild.id),
  ]);
  const channelIds = await channelMentionLookup(db, guild, [...rows, ...replies.values()]);
  const people = new Set<string>();
  for (const r of [...rows, ...replies.values()]) {
    people.add(r.author);
    for (const m of r.mentions ?? []) people.add(m);
  }
  const users = await usersByNexusIds(db, people);
  const roleIds = roleIdsByKey(roles);
  return rows.map((row) =>
    renderMessage(row, users.get(row.author), {
      guildId: apiGuildId(guild),
      reactions: reactions.get(row.id) ?? [],
      meId: viewer,
      mentionUsers: users,
      roleIdsByKey: roleIds,
      channelIdsByKey: channelIds,
      replyTarget: row.reply_to ? replies.get(row.reply_to) ?? null : undefined,
    }),
  );
}

export async function presentMessage(db: Db, guild: GuildRow, row: MessageRow, viewer?: string): Promise<ApiMessage> {
  return (await presentMessages(db, guild, [row], viewer))[0];
}

/** GUILD_CREATE for one member: channels, roles, and members (all up to `memberLimit`, and always the viewer). */
export async function presentGuildCreate(db: Db, guild: GuildRow, viewer: string, memberLimit = 250): Promise<ApiGuildCreate> {
  const [base, roles, channels, count, viewerMember] = await Promise.all([
    presentGuild(db, guild),
    listGuildRoles(db, guild.id),
    presentChannels(db, guild),
    countMembers(db, guild.room_id),
    getMember(db, guild.room_id, viewer),
  ]);
  const members = await presentMembers(db, guild, { limit: memberLimit });
  if (!members.some((m) => m.user.nexus_id === viewer)) {
    const mine = await presentMember(db, guild, viewer);
    if (mine) members.push(mine);
  }
  const joined = viewerMember?.joined_ts ?? guild.created_ts;
  return renderGuildCreate(guild, roles, {
    ownerSnowflake: base.owner_id,
    channels,
    members,
    memberCount: count,
    joinedAt: isoTime(joined),
  });
}

/**
 * A message that was just sent: it has no reactions yet and its author is known, so only
 * what it mentions or replies to is looked up (usually nothing). The hot path of chat.
 */
export async function presentNewMessage(db: Db, guild: GuildRow, row: MessageRow, author: RenderableUser): Promise<ApiMessage> {
  const [mentioned, roles, replies, channelIds] = await Promise.all([
    row.mentions.length ? usersByNexusIds(db, row.mentions) : new Map<string, RenderableUser>(),
    row.mention_roles.length || row.body.includes('<@&') ? listGuildRoles(db, guild.id) : [],
    row.reply_to ? messagesByEventIds(db, [row.reply_to]) : new Map<string, MessageRow>(),
    channelMentionLookup(db, guild, [row]),
  ]);
  const replyTarget = row.reply_to ? replies.get(row.reply_to) ?? null : undefined;
  if (replyTarget && !mentioned.has(replyTarget.author)) {
    for (const [id, u] of await usersByNexusIds(db, [replyTarget.author])) mentioned.set(id, u);
  }
  return renderMessage(row, author, { guildId: apiGuildId(guild), reactions: [], mentionUsers: mentioned, roleIdsByKey: roleIdsByKey(roles), channelIdsByKey: channelIds, replyTarget });
}

/** The guild's channel ids by key, when some of these messages mention a channel (most don't). */
async function channelMentionLookup(db: Db, guild: GuildRow, rows: MessageRow[]): Promise<Map<string, string> | undefined> {
  return rows.some((r) => mentionsChannel(r.body)) ? channelIdsByKey(await listGuildChannels(db, guild.id)) : undefined;
}
