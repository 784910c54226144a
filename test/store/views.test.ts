import type { Insertable } from 'kysely';
import { openDatabase, type Db, type OpenedDatabase } from '../../src/store/database.js';
import type { MessagesTable } from '../../src/store/schema.js';
import { getChannelById, getChannelByKey, listGuildChannels, listOverwrites } from '../../src/store/views/channels.js';
import { getGuildById, getGuildByRoomId, listDiscoverableGuilds, listGuildsForUser } from '../../src/store/views/guilds.js';
import { createInvite, getInvite, incrementInviteUses, listChannelInvites } from '../../src/store/views/invites.js';
import { countMembers, getMember, listBans, listMembers } from '../../src/store/views/members.js';
import {
  getMessageByEventId, getMessageById, listChannelMessages, messagesByEventIds, pinnedMessages, reactionsFor, reactionUsers,
} from '../../src/store/views/messages.js';
import { getRoleById, listGuildRoles } from '../../src/store/views/roles.js';
import { getLocalUserByUsername, getUserById, getUserByNexusId, getUserByTokenHash, usersByNexusIds } from '../../src/store/views/users.js';
import { testDatabaseOptions } from '../helpers/databases.js';

// Rows are inserted straight into the projection tables: these tests are about the read
// queries, not about how projections are built.

const G1 = '!g1:a.test';
const G2 = '!g2:a.test';
const DM = '!dm:a.test';
const ALICE = '@alice:a.test';
const BOB = '@bob:a.test';
const CAROL = '@carol:b.test';
const DAVE = '@dave:a.test';
// Ids of different digit counts: ordering must be numeric, not textual.
const CH = '900000000000000001';
const OTHER_CH = '900000000000000002';
const msgId = (i: number) => (BigInt('999999999999999990') + BigInt(i)).toString(); // crosses 10^18 at i = 10

async function insertUser(db: Db, id: string, nexusId: string, username: string, local = true): Promise<void> {
  await db.insertInto('users').values({ id, nexus_id: nexusId, username, display_name: null, avatar: null, bot: false, local, password_hash: local ? 'hash' : null, created_ts: 1 }).execute();
}

async function insertGuild(db: Db, id: string, roomId: string, extra: { name?: string; description?: string | null; discoverable?: boolean; kind?: string } = {}): Promise<void> {
  await db.insertInto('guilds').values({ id, room_id: roomId, kind: extra.kind ?? 'guild', owner: ALICE, name: extra.name ?? roomId, description: extra.description ?? null, icon: null, discoverable: extra.discoverable ?? false, created_ts: 1 }).execute();
}

async function insertMember(db: Db, roomId: string, guildId: string, userId: string, membership: string, roles: string[] = []): Promise<void> {
  await db.insertInto('members').values({ room_id: roomId, guild_id: guildId, user_id: userId, membership, nick: null, roles: JSON.stringify(roles), joined_ts: membership === 'join' ? 1000 : null }).execute();
}

function message(i: number, extra: Partial<Insertable<MessagesTable>> = {}): Insertable<MessagesTable> {
  return { id: msgId(i), event_id: `$m${i}`, room_id: G1, channel_id: CH, author: ALICE, body: `m${i}`, nonce: null, tts: false, mentions: '[]', mention_roles: '[]', mention_everyone: false, reply_to: null, created_ts: 1000 + i, edited_ts: null, deleted: false, pinned: false, ...extra };
}

let position = 0;
async function insertReaction(db: Db, messageIndex: number, emoji: string, userId: string): Promise<void> {
  const eventId = `$r${++position}`;
  await db.insertInto('events').values({ event_id: eventId, room_id: G1, type: 'nexus.reaction', state_key: null, sender: userId, origin: 'a.test', depth: 1, received_ts: 1, pdu: '{}' }).execute();
  await db.insertInto('reactions').values({ event_id: eventId, message_id: msgId(messageIndex), emoji, user_id: userId }).execute();
}

async function seed(db: Db): Promise<void> {
  await insertUser(db, '100', ALICE, 'Alice');
  await insertUser(db, '300', BOB, 'bob');
  await insertUser(db, '200', CAROL, 'carol', false);
  await insertUser(db, '400', DAVE, 'dave');
  await db.insertInto('tokens').values({ token_hash: 'th-alice', user_id: '100', created_ts: 1 }).execute();
  await insertGuild(db, '11', G1, { name: 'Rust 50% club', description: 'systems', discoverable: true });
  await insertGuild(db, '12', G2, { name: 'Gardening', discoverable: true });
  await insertGuild(db, '13', DM, { kind: 'dm' });
  await insertMember(db, G1, '11', ALICE, 'join', ['mod']);
  await insertMember(db, G1, '11', BOB, 'join');
  await insertMember(db, G1, '11', CAROL, 'join');
  await insertMember(db, G1, '11', DAVE, 'ban');
  await insertMember(db, G1, '11', '@ghost:c.test', 'join'); // no users row
  await insertMember(db, G2, '12', ALICE, 'leave');
  await insertMember(db, G2, '12', BOB, 'join');
  await insertMember(db, DM, '13', ALICE, 'join');
  await db.insertInto('channels').values([
    { id: CH, room_id: G1, channel_key: 'general', guild_id: '11', name: 'general', kind: 0, topic: null, position: 1, parent_key: 'cat', nsfw: false, deleted: false, last_message_id: null },
    { id: OTHER_CH, room_id: G1, channel_key: 'random', guild_id: '11', name: 'random', kind: 0, topic: null, position: 2, parent_key: null, nsfw: false, deleted: false, last_message_id: null },
    { id: '900000000000000003', room_id: G1, channel_key: 'cat', guild_id: '11', name: 'Text', kind: 4, topic: null, position: 0, parent_key: null, nsfw: false, deleted: false, last_message_id: null },
    { id: '900000000000000004', room_id: G1, channel_key: 'old', guild_id: '11', name: 'old', kind: 0, topic: null, position: 0, parent_key: null, nsfw: false, deleted: true, last_message_id: null },
  ]).execute();
  await db.insertInto('roles').values([
    { id: '11', room_id: G1, role_key: 'everyone', guild_id: '11', name: '@everyone', permissions: '1024', position: 0, color: 0, hoist: false, mentionable: false, deleted: false },
    { id: '21', room_id: G1, role_key: 'mod', guild_id: '11', name: 'mod', permissions: '8', position: 2, color: 255, hoist: true, mentionable: true, deleted: false },
    { id: '22', room_id: G1, role_key: 'gone', guild_id: '11', name: 'gone', permissions: '0', position: 1, color: 0, hoist: false, mentionable: false, deleted: true },
  ]).execute();
  await db.insertInto('overwrites').values([
    { room_id: G1, channel_key: 'general', target: 'everyone', kind: 'role', allow: '0', deny: '2048' },
    { room_id: G1, channel_key: 'general', target: BOB, kind: 'member', allow: '2048', deny: '0' },
    { room_id: G1, channel_key: 'random', target: 'mod', kind: 'role', allow: '8192', deny: '0' },
  ]).execute();
  // 20 messages in CH (index 7 deleted, 3 and 15 pinned), 2 in OTHER_CH around them.
  await db.insertInto('messages').values([
    ...Array.from({ length: 20 }, (_, i) => message(i, { deleted: i === 7, pinned: i === 3 || i === 15 })),
    message(100, { channel_id: OTHER_CH, id: '1000000000000000500' }),
    message(101, { channel_id: OTHER_CH, id: '1' }),
  ]).execute();
}

const indexes = (rows: Array<{ id: string }>) => rows.map((r) => Number(BigInt(r.id) - BigInt(msgId(0))));

describe.each(testDatabaseOptions())('views on $name', ({ options }) => {
  let opened: OpenedDatabase;
  let db: Db;
  beforeAll(async () => {
    opened = await openDatabase(await options());
    db = opened.db;
    await seed(db);
  });
  afterAll(async () => opened.close());

  it('finds users by id, nexus id, username (case-insensitively, local only) and token hash', async () => {
    const alice = await getUserById(db, '100');
    expect(alice).toMatchObject({ id: '100', nexus_id: ALICE, username: 'Alice', local: true });
    expect(alice).not.toHaveProperty('password_hash');
    expect((await getUserByNexusId(db, BOB))?.id).toBe('300');
    expect((await getLocalUserByUsername(db, 'aLiCe'))?.password_hash).toBe('hash');
    expect(await getLocalUserByUsername(db, 'carol')).toBeUndefined(); // remote
    expect((await getUserByTokenHash(db, 'th-alice'))?.nexus_id).toBe(ALICE);
    expect(await getUserByTokenHash(db, 'nope')).toBeUndefined();
    const map = await usersByNexusIds(db, [ALICE, CAROL, '@ghost:c.test', ALICE]);
    expect([...map.keys()].sort()).toEqual([ALICE, CAROL]);
    expect((await usersByNexusIds(db, [])).size).toBe(0);
  });

  it('lists only the guilds a user has joined, never DMs', async () => {
    expect((await listGuildsForUser(db, ALICE)).map((g) => g.room_id)).toEqual([G1]);
    expect((await listGuildsForUser(db, BOB)).map((g) => g.room_id)).toEqual([G1, G2]);
    expect(await listGuildsForUser(db, DAVE)).toEqual([]); // banned
    expect((await getGuildById(db, '12'))?.room_id).toBe(G2);
    expect((await getGuildByRoomId(db, G1))?.id).toBe('11');
  });

  it('lists discoverable guilds with search, paging and member counts', async () => {
    const all = await listDiscoverableGuilds(db);
    expect(all.map((g) => [g.room_id, g.member_count])).toEqual([[G1, 4], [G2, 1]]);
    expect((await listDiscoverableGuilds(db, { q: 'SYSTEMS' })).map((g) => g.room_id)).toEqual([G1]);
    expect((await listDiscoverableGuilds(db, { q: '50%' })).map((g) => g.room_id)).toEqual([G1]);
    expect(await listDiscoverableGuilds(db, { q: 'n%g' })).toEqual([]); // a literal %: 'Gardening' doesn't match
    expect((await listDiscoverableGuilds(db, { limit: 1 })).map((g) => g.room_id)).toEqual([G1]);
    expect((await listDiscoverableGuilds(db, { after: '11' })).map((g) => g.room_id)).toEqual([G2]);
  });

  it('reads channels, overwrites and roles without deleted ones', async () => {
    expect((await listGuildChannels(db, '11')).map((c) => c.channel_key)).toEqual(['cat', 'general', 'random']);
    expect(await getChannelById(db, '900000000000000004')).toBeUndefined();
    expect((await getChannelById(db, '900000000000000004', { includeDeleted: true }))?.deleted).toBe(true);
    expect((await getChannelByKey(db, G1, 'general'))?.id).toBe(CH);
    expect((await listOverwrites(db, G1, 'general')).map((o) => o.target).sort()).toEqual([BOB, 'everyone'].sort());
    expect(await listOverwrites(db, G1)).toHaveLength(3);
    expect((await listGuildRoles(db, '11')).map((r) => r.role_key)).toEqual(['everyone', 'mod']);
    expect((await getRoleById(db, '11'))?.role_key).toBe('everyone');
    expect(await getRoleById(db, '22')).toBeUndefined();
  });

  it('lists joined members with users, paged by user snowflake, and bans', async () => {
    const page = await listMembers(db, G1, { limit: 1000 });
    // The member with no users row has no snowflake to page by, so it is not listed.
    expect(page.map((m) => [m.user.id, m.member.user_id])).toEqual([['100', ALICE], ['200', CAROL], ['300', BOB]]);
    expect(page[0].member.roles).toEqual(['mod']);
    expect((await listMembers(db, G1)).map((m) => m.user.id)).toEqual(['100']); // Discord's default limit is 1
    expect((await listMembers(db, G1, { after: '100', limit: 1 })).map((m) => m.user.id)).toEqual(['200']);
    expect(await listMembers(db, G1, { after: '300' })).toEqual([]);
    expect(await countMembers(db, G1)).toBe(4);
    expect((await listBans(db, G1)).map((b) => [b.member.user_id, b.user?.id])).toEqual([[DAVE, '400']]);
    expect((await getMember(db, G2, ALICE))?.membership).toBe('leave');
    expect(await getMember(db, G2, CAROL)).toBeUndefined();
  });

  it('pages channel history newest first with before, after, around and limit', async () => {
    const live = Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 7).reverse();
    expect(indexes(await listChannelMessages(db, CH))).toEqual(live);
    expect(indexes(await listChannelMessages(db, CH, { limit: 3 }))).toEqual([19, 18, 17]);
    expect(indexes(await listChannelMessages(db, CH, { before: msgId(10), limit: 4 }))).toEqual([9, 8, 6, 5]);
    expect(indexes(await listChannelMessages(db, CH, { before: msgId(2) }))).toEqual([1, 0]);
    // after: the messages just newer than the cursor, still newest first.
    expect(indexes(await listChannelMessages(db, CH, { after: msgId(5), limit: 3 }))).toEqual([9, 8, 6]);
    expect(indexes(await listChannelMessages(db, CH, { after: msgId(17) }))).toEqual([19, 18]);
    expect(indexes(await listChannelMessages(db, CH, { around: msgId(12), limit: 5 }))).toEqual([14, 13, 12, 11, 10]);
    expect(indexes(await listChannelMessages(db, CH, { around: msgId(12), limit: 4 }))).toEqual([14, 13, 12, 11]);
    expect(indexes(await listChannelMessages(db, CH, { around: msgId(12), limit: 1 }))).toEqual([12]);
    expect(indexes(await listChannelMessages(db, CH, { around: msgId(18), limit: 6 }))).toEqual([19, 18, 17, 16]);
    expect(indexes(await listChannelMessages(db, CH, { around: msgId(7), limit: 3 }))).toEqual([8, 6, 5]); // deleted target
    expect(await listChannelMessages(db, CH, { limit: 500 })).toHaveLength(19); // clamped to 100
    expect(await listChannelMessages(db, CH, { limit: 0 })).toHaveLength(1); // clamped to 1
    expect((await listChannelMessages(db, OTHER_CH)).map((m) => m.id)).toEqual(['1000000000000000500', '1']);
  });

  it('reads single messages, pins and reactions', async () => {
    expect((await getMessageById(db, msgId(3)))?.body).toBe('m3');
    expect(await getMessageById(db, msgId(7))).toBeUndefined();
    expect((await getMessageByEventId(db, '$m4'))?.id).toBe(msgId(4));
    expect([...(await messagesByEventIds(db, ['$m1', '$m7', '$nope'])).keys()]).toEqual(['$m1']);
    expect(indexes(await pinnedMessages(db, CH))).toEqual([15, 3]);
    await insertReaction(db, 1, '🔥', BOB);
    await insertReaction(db, 1, 'party:123', ALICE);
    await insertReaction(db, 1, '🔥', ALICE);
    await insertReaction(db, 2, '👍', CAROL);
    const reactions = await reactionsFor(db, [msgId(1), msgId(2), msgId(3)]);
    expect(reactions.get(msgId(1))).toEqual([
      { emoji: '🔥', count: 2, users: [BOB, ALICE] },
      { emoji: 'party:123', count: 1, users: [ALICE] },
    ]);
    expect(reactions.get(msgId(2))).toEqual([{ emoji: '👍', count: 1, users: [CAROL] }]);
    expect(reactions.has(msgId(3))).toBe(false);
    expect(await reactionUsers(db, msgId(1), '🔥')).toEqual([BOB, ALICE]);
  });

  it('creates invites and counts uses atomically up to max_uses and until expiry', async () => {
    const base = { room_id: G1, channel_key: 'general', inviter: ALICE, temporary: false, created_ts: 10_000 };
    expect(await createInvite(db, { ...base, code: 'three', max_age: 0, max_uses: 3 })).toBe(true);
    expect(await createInvite(db, { ...base, code: 'three', max_age: 0, max_uses: 9 })).toBe(false);
    expect(await createInvite(db, { ...base, code: 'short', max_age: 60, max_uses: 0 })).toBe(true);
    expect(await createInvite(db, { ...base, code: 'free', max_age: 0, max_uses: 0 })).toBe(true);
    // Six concurrent uses of a three-use invite: exactly three succeed.
    const results = await Promise.all(Array.from({ length: 6 }, () => incrementInviteUses(db, 'three', 20_000)));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect((await getInvite(db, 'three'))?.uses).toBe(3);
    expect(await incrementInviteUses(db, 'three', 20_000)).toBe(false);
    expect(await incrementInviteUses(db, 'short', 69_999)).toBe(true);
    expect(await incrementInviteUses(db, 'short', 70_000)).toBe(false); // 60 s after creation
    for (let i = 0; i < 5; i++) expect(await incrementInviteUses(db, 'free', 1e12)).toBe(true);
    expect(await incrementInviteUses(db, 'missing', 0)).toBe(false);
    expect((await listChannelInvites(db, G1, 'general')).map((i) => i.code).sort()).toEqual(['free', 'short', 'three']);
    expect(await listChannelInvites(db, G1, 'random')).toEqual([]);
  });
});
