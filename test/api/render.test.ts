import { renderChannel } from '../../src/api/render/channel.js';
import { channelIdsByKey, isoTime, roleIdsByKey } from '../../src/api/render/common.js';
import { renderGuild, renderGuildCreate } from '../../src/api/render/guild.js';
import { renderInvite } from '../../src/api/render/invite.js';
import { renderMember } from '../../src/api/render/member.js';
import { renderMessage } from '../../src/api/render/message.js';
import { renderRole } from '../../src/api/render/role.js';
import { placeholderUser, placeholderUserId, renderUser, userSnowflake } from '../../src/api/render/user.js';
import type { ChannelRow, OverwriteRow } from '../../src/store/views/channels.js';
import type { GuildRow } from '../../src/store/views/guilds.js';
import type { InviteRow } from '../../src/store/views/invites.js';
import type { MemberRow } from '../../src/store/views/members.js';
import type { MessageRow } from '../../src/store/views/messages.js';
import type { RoleRow } from '../../src/store/views/roles.js';
import type { UserRow } from '../../src/store/views/users.js';

const ALICE = '@alice:a.test';
const BOB = '@bob:a.test';
const alice: UserRow = { id: '1100000000000000001', nexus_id: ALICE, username: 'alice', display_name: 'Alice A.', avatar: null, bot: false, local: true, created_ts: '1' };
const bob: UserRow = { ...alice, id: '1100000000000000002', nexus_id: BOB, username: 'bob', display_name: null, bot: true };
const users = new Map([[ALICE, alice], [BOB, bob]]);
const guild: GuildRow = { id: '1000000000000000000', room_id: '!g:a.test', kind: 'guild', owner: ALICE, name: 'Nexus', description: 'hi', icon: null, discoverable: true, created_ts: '1700000000000' };
const role = (key: string, id: string, extra: Partial<RoleRow> = {}): RoleRow => ({ id, room_id: guild.room_id, role_key: key, guild_id: guild.id, name: key, permissions: '1024', position: 1, color: 0, hoist: false, mentionable: false, deleted: false, ...extra });
const roles = [role('everyone', guild.id, { position: 0, name: 'everyone' }), role('mod', '1000000000000000010', { color: 0xff0000, position: 2, permissions: '8' })];
const roleIds = roleIdsByKey(roles);
const channel = (key: string, id: string, extra: Partial<ChannelRow> = {}): ChannelRow => ({ id, room_id: guild.room_id, channel_key: key, guild_id: guild.id, name: key, kind: 0, topic: 'talk', position: 0, parent_key: null, nsfw: false, deleted: false, last_message_id: '1000000000000000099', ...extra });
const channels = [channel('cat', '1000000000000000020', { kind: 4 }), channel('general', '1000000000000000021', { parent_key: 'cat' }), channel('voice', '1000000000000000022', { kind: 2, parent_key: 'missing' })];
const message = (extra: Partial<MessageRow> = {}): MessageRow => ({ id: '1000000000000000100', event_id: '$ev1', room_id: guild.room_id, channel_id: channels[1].id, author: ALICE, body: 'hello', nonce: null, tts: false, mentions: [], mention_roles: [], mention_everyone: false, reply_to: null, created_ts: '1700000000123', edited_ts: null, deleted: false, pinned: false, ...extra });
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('renderers', () => {
  it('renders users the way discord.js reads them, and placeholders for unknown users', () => {
    expect(renderUser(alice)).toEqual({
      id: alice.id, username: 'alice', global_name: 'Alice A.', discriminator: '0', avatar: null, bot: false, system: false,
      public_flags: 0, flags: 0, banner: null, accent_color: null, avatar_decoration_data: null, nexus_id: ALICE,
    });
    expect(renderUser(alice)).not.toHaveProperty('password_hash');
    const ghost = placeholderUser('@ghost:c.test');
    expect(ghost).toMatchObject({ username: 'ghost', nexus_id: '@ghost:c.test', discriminator: '0' });
    expect(ghost.id).toMatch(/^[0-9]{19}$/);
    expect(ghost.id).toBe(placeholderUserId('@ghost:c.test'));
    expect(placeholderUserId('@ghost:d.test')).not.toBe(ghost.id);
    expect(userSnowflake(ALICE, users)).toBe(alice.id);
    expect(userSnowflake('@ghost:c.test', users)).toBe(ghost.id);
  });

  it('renders roles with string permissions and the @everyone name', () => {
    expect(renderRole(roles[1])).toEqual({
      id: roles[1].id, name: 'mod', color: 0xff0000, colors: { primary_color: 0xff0000, secondary_color: null, tertiary_color: null },
      hoist: false, icon: null, unicode_emoji: null, position: 2, permissions: '8', managed: false, mentionable: false, flags: 0, nexus_id: 'mod',
    });
    expect(renderRole(roles[0])).toMatchObject({ id: guild.id, name: '@everyone', position: 0 });
  });

  it('renders members with role snowflakes, never @everyone, and an ISO joined_at', () => {
    const member: MemberRow = { room_id: guild.room_id, user_id: ALICE, guild_id: guild.id, membership: 'join', nick: 'al', roles: ['everyone', 'mod', 'deleted-role', 'mod'], joined_ts: '1700000000000' };
    const out = renderMember(member, alice, roleIds);
    expect(out).toMatchObject({ user: { id: alice.id }, nick: 'al', roles: [roles[1].id], joined_at: '2023-11-14T22:13:20.000Z', deaf: false, mute: false, pending: false, flags: 0 });
    expect(renderMember({ ...member, user_id: '@ghost:c.test' }, undefined, roleIds).user.username).toBe('ghost');
  });

  it('renders channels by kind, with parent ids and typed overwrites', () => {
    const ids = channelIdsByKey(channels);
    const overwrites: OverwriteRow[] = [
      { room_id: guild.room_id, channel_key: 'general', target: 'everyone', kind: 'role', allow: '0', deny: '2048' },
      { room_id: guild.room_id, channel_key: 'general', target: BOB, kind: 'member', allow: '2048', deny: '0' },
      { room_id: guild.room_id, channel_key: 'general', target: 'deleted-role', kind: 'role', allow: '1', deny: '0' },
      { room_id: guild.room_id, channel_key: 'cat', target: 'mod', kind: 'role', allow: '16', deny: '0' },
    ];
    const text = renderChannel(channels[1], overwrites, { channelIdsByKey: ids, roleIdsByKey: roleIds, users });
    expect(text).toEqual({
      id: channels[1].id, type: 0, guild_id: guild.id, name: 'general', position: 0, parent_id: channels[0].id, flags: 0,
      permission_overwrites: [{ id: guild.id, type: 0, allow: '0', deny: '2048' }, { id: bob.id, type: 1, allow: '2048', deny: '0' }],
      nsfw: false, topic: 'talk', last_message_id: '1000000000000000099', rate_limit_per_user: 0, nexus_id: 'general',
    });
    const category = renderChannel(channels[0], overwrites, { channelIdsByKey: ids, roleIdsByKey: roleIds });
    expect(category.permission_overwrites).toEqual([{ id: roles[1].id, type: 0, allow: '16', deny: '0' }]);
    expect(category).not.toHaveProperty('topic');
    expect(category).not.toHaveProperty('last_message_id');
    const voice = renderChannel(channels[2], [], { channelIdsByKey: ids, roleIdsByKey: roleIds });
    expect(voice).toMatchObject({ type: 2, parent_id: null, bitrate: 64000, user_limit: 0, rtc_region: null });
  });

  it('renders messages with ISO times, mentions, role mentions and reactions with `me`', () => {
    const m = message({ mentions: [BOB, '@ghost:c.test'], mention_roles: ['mod', 'gone'], edited_ts: '1700000001000', nonce: 'n1' });
    const reactions = [{ emoji: '🔥', count: 2, users: [BOB, ALICE] }, { emoji: 'party:123456', count: 1, users: [BOB] }];
    const out = renderMessage(m, alice, { guildId: guild.id, reactions, meId: ALICE, mentionUsers: users, roleIdsByKey: roleIds });
    expect(out).toMatchObject({
      id: m.id, type: 0, channel_id: m.channel_id, guild_id: guild.id, author: { id: alice.id, username: 'alice' }, content: 'hello',
      tts: false, mention_everyone: false, mention_roles: [roles[1].id], attachments: [], embeds: [], pinned: false, nonce: 'n1', nexus_id: '$ev1',
    });
    expect(out.timestamp).toBe(isoTime(1700000000123));
    expect(out.timestamp).toMatch(ISO);
    expect(out.edited_timestamp).toBe('2023-11-14T22:13:21.000Z');
    expect(out.mentions.map((u) => u.username)).toEqual(['bob', 'ghost']);
    expect(out.reactions).toEqual([
      { count: 2, count_details: { burst: 0, normal: 2 }, me: true, me_burst: false, emoji: { id: null, name: '🔥' }, burst_colors: [] },
      { count: 1, count_details: { burst: 0, normal: 1 }, me: false, me_burst: false, emoji: { id: '123456', name: 'party' }, burst_colors: [] },
    ]);
    expect(out).not.toHaveProperty('message_reference');
    const plain = renderMessage(message(), undefined, { mentionUsers: users });
    expect(plain).not.toHaveProperty('guild_id');
    expect(plain).not.toHaveProperty('reactions');
    expect(plain).not.toHaveProperty('nonce');
    expect(plain.edited_timestamp).toBeNull();
    expect(plain.author.id).toBe(alice.id); // found in mentionUsers
    expect(renderMessage(message({ author: '@ghost:c.test' }), undefined).author.username).toBe('ghost');
  });

  it('renders replies as type 19 with a reference and the referenced message', () => {
    const target = message({ id: '1000000000000000050', event_id: '$target', author: BOB, body: 'question', reply_to: '$older' });
    const reply = message({ reply_to: '$target' });
    const out = renderMessage(reply, alice, { guildId: guild.id, mentionUsers: users, replyTarget: target });
    expect(out.type).toBe(19);
    expect(out.message_reference).toEqual({ type: 0, channel_id: target.channel_id, guild_id: guild.id, message_id: target.id });
    expect(out.referenced_message).toMatchObject({ id: target.id, content: 'question', author: { id: bob.id, bot: true }, type: 0 });
    expect(out.referenced_message).not.toHaveProperty('referenced_message');
    const orphan = renderMessage(reply, alice, { guildId: guild.id, replyTarget: null });
    expect(orphan.message_reference).toEqual({ type: 0, channel_id: reply.channel_id, guild_id: guild.id });
    expect(orphan.referenced_message).toBeNull();
  });

  it('renders guilds and GUILD_CREATE with what discord.js needs', () => {
    const g = renderGuild(guild, roles, { ownerSnowflake: alice.id, approximateMemberCount: 3 });
    expect(g).toMatchObject({
      id: guild.id, name: 'Nexus', description: 'hi', owner_id: alice.id, features: ['DISCOVERABLE'], emojis: [], stickers: [],
      verification_level: 0, default_message_notifications: 0, explicit_content_filter: 0, mfa_level: 0, premium_tier: 0,
      preferred_locale: 'en-US', nsfw_level: 0, system_channel_id: null, approximate_member_count: 3, nexus_id: '!g:a.test',
    });
    expect(g.roles.map((r) => r.id)).toEqual([guild.id, roles[1].id]);
    expect(renderGuild({ ...guild, discoverable: false }, roles, { ownerSnowflake: alice.id })).not.toHaveProperty('approximate_member_count');
    expect(renderGuild({ ...guild, discoverable: false }, roles, { ownerSnowflake: alice.id }).features).toEqual([]);
    const ids = channelIdsByKey(channels);
    const created = renderGuildCreate(guild, roles, {
      ownerSnowflake: alice.id, memberCount: 251, joinedAt: isoTime(1700000000000),
      channels: channels.map((c) => renderChannel(c, [], { channelIdsByKey: ids, roleIdsByKey: roleIds })), members: [],
    });
    expect(created).toMatchObject({ unavailable: false, large: true, member_count: 251, joined_at: '2023-11-14T22:13:20.000Z', threads: [], presences: [], voice_states: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [] });
    expect(created.channels).toHaveLength(3);
    expect(JSON.parse(JSON.stringify(created))).toEqual(created); // plain JSON: no bigints, no undefined-only fields lost
  });

  it('renders invites with a partial guild, channel and expiry', () => {
    const invite: InviteRow = { code: 'abc', room_id: guild.room_id, channel_key: 'general', inviter: ALICE, max_age: 3600, max_uses: 5, uses: 2, temporary: false, created_ts: '1700000000000' };
    const out = renderInvite(invite, guild, channels[1], alice, { approximateMemberCount: 7 });
    expect(out).toEqual({
      code: 'abc', type: 0,
      guild: { id: guild.id, name: 'Nexus', icon: null, splash: null, banner: null, description: 'hi', features: ['DISCOVERABLE'], verification_level: 0, vanity_url_code: null, nsfw_level: 0, premium_subscription_count: 0, nexus_id: '!g:a.test' },
      channel: { id: channels[1].id, type: 0, name: 'general' }, inviter: renderUser(alice),
      max_age: 3600, max_uses: 5, uses: 2, temporary: false, created_at: '2023-11-14T22:13:20.000Z', expires_at: '2023-11-14T23:13:20.000Z', approximate_member_count: 7,
    });
    expect(renderInvite({ ...invite, max_age: 0 }, guild, channels[1], undefined).expires_at).toBeNull();
    expect(renderInvite({ ...invite, inviter: '@ghost:c.test' }, guild, channels[1], undefined).inviter.username).toBe('ghost');
  });
});
