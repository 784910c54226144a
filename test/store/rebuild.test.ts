import { sql } from 'kysely';
import type { Clock } from '../../src/clock.js';
import { ChannelKind } from '../../src/events/event-types.js';
import { formatPermissions, Permission } from '../../src/events/permissions.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { createGuildService, type GuildService } from '../../src/guilds/guild-service.js';
import { createRoomWriter } from '../../src/guilds/room-writer.js';
import { snowflakeFromLog } from '../../src/snowflake.js';
import { openDatabase, type Db, type OpenedDatabase } from '../../src/store/database.js';
import type { LoggedEvent } from '../../src/store/event-log.js';
import { REBUILD_CHECKPOINT, rebuildProjections } from '../../src/store/rebuild.js';
import { snapshotViews } from '../../src/store/views-snapshot.js';
import { testDatabaseOptions } from '../helpers/databases.js';

const SERVER = 'test.local';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'].map((u) => `@${u}:${SERVER}`);
const EMOJI = ['👍', '🎉', '❤️', 'party:1234'];

/** A small deterministic PRNG (mulberry32), so every run plays the same scenario. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Guild {
  roomId: string;
  owner: string;
  mod: string; // a member holding the mod role
  overwritten: string; // a member with their own overwrite in the second channel
  channels: string[]; // live text channel keys
  joined: Set<string>;
  messages: LoggedEvent[];
  reactions: LoggedEvent[];
}

function writerOn(db: Db, clock: Clock): GuildService {
  const key = generateSigningKey('t1');
  return createGuildService({ writer: createRoomWriter({ db, clock, serverName: SERVER, signingKey: () => key }), serverName: SERVER });
}

/** Guild setup through the real guild service: joins, roles, channels, overwrites, settings. */
async function setUpGuild(guilds: GuildService, owner: string, n: number): Promise<Guild> {
  const { roomId, events } = await guilds.createGuild(owner, { name: `Guild ${n}` });
  const others = USERS.filter((u) => u !== owner);
  // Joins through an invite: authorised by the owner, who holds CREATE_INSTANT_INVITE.
  await Promise.all(others.map((u) => guilds.join(roomId, u, owner)));
  const mod = (await guilds.createRole(roomId, owner, { name: 'mod', permissions: formatPermissions(Permission.MANAGE_MESSAGES | Permission.KICK_MEMBERS | Permission.BAN_MEMBERS), position: 2 })).pdu.state_key!;
  const vip = (await guilds.createRole(roomId, owner, { name: 'vip', permissions: '0', color: 0xff0000, hoist: true, position: 1 })).pdu.state_key!;
  await guilds.updateRole(roomId, owner, vip, { name: 'VIP', mentionable: true });
  const temp = (await guilds.createRole(roomId, owner, { name: 'temp', permissions: '0', position: 1 })).pdu.state_key!;
  await guilds.setMemberRoles(roomId, owner, others[0], (r) => [...r, mod]);
  await Promise.all([others[1], others[2]].map((u) => guilds.setMemberRoles(roomId, owner, u, (r) => [...r, vip, temp])));
  await guilds.deleteRole(roomId, owner, temp); // several events in one append: holders lose it, then it goes
  await guilds.setNick(roomId, owner, others[1], 'nick1');
  const category = (await guilds.createChannel(roomId, owner, { name: 'Text', kind: ChannelKind.Category, position: 1 })).pdu.state_key!;
  const random = (await guilds.createChannel(roomId, owner, { name: 'random', kind: ChannelKind.Text, position: 2 })).pdu.state_key!;
  const doomed = (await guilds.createChannel(roomId, owner, { name: 'doomed', kind: ChannelKind.Text, position: 3 })).pdu.state_key!;
  await guilds.createChannel(roomId, owner, { name: 'voice', kind: ChannelKind.Voice, position: 4 });
  await guilds.updateChannel(roomId, owner, random, { topic: 'anything goes', parent: category, nsfw: true });
  await guilds.setOverwrite(roomId, owner, random, vip, 'role', Permission.ATTACH_FILES, 0n);
  await guilds.setOverwrite(roomId, owner, random, vip, 'role', Permission.ATTACH_FILES | Permission.EMBED_LINKS, Permission.SEND_TTS_MESSAGES);
  await guilds.setOverwrite(roomId, owner, random, others[3], 'member', Permission.EMBED_LINKS, Permission.ADD_REACTIONS);
  await guilds.setOverwrite(roomId, owner, doomed, others[4], 'member', Permission.EMBED_LINKS, 0n);
  await guilds.updateSettings(roomId, owner, { description: `guild number ${n}`, discoverable: n === 0 });
  return { roomId, owner, mod: others[0], overwritten: others[3], channels: [events[4].pdu.state_key!, random, doomed], joined: new Set(USERS), messages: [], reactions: [] };
}

/** One burst of concurrent commands (group-committed by the room writer); refusals are part of the mix. */
async function burst(guilds: GuildService, all: Guild[], rnd: () => number, size: number, counter: { n: number }): Promise<void> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const ops: Array<Promise<unknown>> = [];
  for (let i = 0; i < size; i++) {
    const g = pick(all);
    const user = pick([...g.joined]);
    const r = rnd();
    const old = g.messages.length > 0 ? pick(g.messages) : undefined;
    if (r < 0.6 || !old) {
      const n = counter.n++;
      const content: Record<string, unknown> = { channel: pick(g.channels), body: `message ${n} from ${user} ✨` };
      if (n % 5 === 0) content.nonce = `nonce-${n}`;
      if (n % 7 === 0) content.mentions = [pick(USERS)];
      if (n % 11 === 0 && old) content.reply_to = old.event_id;
      if (n % 13 === 0) content.tts = true;
      if (n % 17 === 0) content.mention_everyone = true;
      ops.push(guilds.sendMessage(g.roomId, user, content).then((ev) => g.messages.push(ev)));
    } else if (r < 0.72) {
      ops.push(guilds.react(g.roomId, user, old.pdu.content.channel as string, old.event_id, pick(EMOJI)).then((ev) => g.reactions.push(ev)));
    } else if (r < 0.77 && g.reactions.length > 0) {
      const reaction = pick(g.reactions); // removing a reaction is redacting it (by its sender, or someone not allowed to)
      ops.push(guilds.redact(g.roomId, rnd() < 0.8 ? reaction.pdu.sender : user, reaction.event_id));
    } else if (r < 0.85) {
      const editor = rnd() < 0.8 ? old.pdu.sender : user; // an edit by another user is logged but changes nothing
      ops.push(guilds.editMessage(g.roomId, editor, { channel: old.pdu.content.channel, target: old.event_id, body: `edited by ${editor}`, mentions: [g.owner] }));
    } else if (r < 0.92) {
      const redactor = pick([old.pdu.sender, g.owner, g.mod, user]); // the last one is usually refused by mayRedact
      ops.push(guilds.redact(g.roomId, redactor, old.event_id, rnd() < 0.5 ? (old.pdu.content.channel as string) : undefined, 'cleanup'));
    } else if (r < 0.96) {
      ops.push(guilds.setPinned(g.roomId, pick([g.owner, g.mod]), old.pdu.content.channel as string, old.event_id, rnd() < 0.75));
    } else {
      // A read position: an event in the reader's private account room, projected to read_states.
      ops.push(guilds.markRead(user, g.roomId, old.pdu.content.channel as string, old.event_id));
    }
  }
  await Promise.allSettled(ops);
}

/**
 * Back-to-back events on messages written long ago and on new ones. With small pages they
 * reach rows in every place the rebuild keeps them: still in its in-memory window, already
 * written, and written by a page whose writes may still be in flight.
 */
async function closeCalls(guilds: GuildService, g: Guild): Promise<void> {
  const [user, other] = [...g.joined].filter((u) => u !== g.owner && u !== g.mod && u !== g.overwritten);
  const channel = g.channels[0];
  const old = await guilds.sendMessage(g.roomId, user, { channel, body: 'old' });
  const older = await guilds.sendMessage(g.roomId, user, { channel, body: 'older' });
  const early = await guilds.react(g.roomId, user, channel, old.event_id, '🙂');
  const early2 = await guilds.react(g.roomId, user, channel, old.event_id, '🙃');
  // More than a page of filler (for the page sizes the tests use), so `old` is flushed.
  await Promise.all(Array.from({ length: 70 }, (_, i) => guilds.sendMessage(g.roomId, g.owner, { channel, body: `filler ${i}` })));
  // Reactions written long ago, removed then given again while the removal may still be unwritten.
  await guilds.redact(g.roomId, user, early.event_id);
  await guilds.react(g.roomId, user, channel, old.event_id, '🙂');
  await guilds.sendMessage(g.roomId, g.owner, { channel, body: 'a page apart' });
  await guilds.redact(g.roomId, other, early2.event_id); // refused: not the sender, no MANAGE_MESSAGES
  await guilds.redact(g.roomId, user, early2.event_id);
  await guilds.react(g.roomId, user, channel, old.event_id, '🙃');
  for (const emoji of ['👍', '👍', '🎉', '👍', '🎉']) await guilds.react(g.roomId, user, channel, old.event_id, emoji);
  const doomed = await guilds.react(g.roomId, g.owner, channel, old.event_id, '❤️');
  await guilds.redact(g.roomId, g.owner, doomed.event_id);
  await guilds.react(g.roomId, g.owner, channel, old.event_id, '❤️');
  await guilds.editMessage(g.roomId, user, { channel, target: old.event_id, body: 'old, edited' });
  await guilds.editMessage(g.roomId, user, { channel, target: old.event_id, body: 'old, edited twice' });
  await guilds.setPinned(g.roomId, g.owner, channel, old.event_id, true);
  await guilds.setPinned(g.roomId, g.owner, channel, old.event_id, false);
  await guilds.setPinned(g.roomId, g.owner, channel, old.event_id, true);
  await guilds.react(g.roomId, user, channel, old.event_id, '👍'); // a duplicate, after pages that touched only the message
  const fresh = await guilds.sendMessage(g.roomId, user, { channel, body: 'fresh' });
  await guilds.react(g.roomId, g.owner, channel, fresh.event_id, '🎉');
  await guilds.react(g.roomId, g.owner, channel, fresh.event_id, '🎉');
  await guilds.react(g.roomId, user, channel, older.event_id, '🔥');
  await guilds.redact(g.roomId, g.owner, fresh.event_id); // takes its reactions with it
  await guilds.redact(g.roomId, g.owner, older.event_id); // a flushed message whose reaction may not be
  const kept = await guilds.sendMessage(g.roomId, user, { channel, body: 'kept' });
  await guilds.react(g.roomId, user, channel, kept.event_id, 'party:1234');
  await guilds.react(g.roomId, user, channel, kept.event_id, 'party:1234'); // logged, changes nothing
}

/** A long mixed scenario: three guilds, churn of members, channels and roles, and about 1,500 events. */
async function playScenario(db: Db): Promise<Guild[]> {
  let now = 1_700_000_000_000;
  const clock: Clock = { now: () => (now += 7) };
  const guilds = writerOn(db, clock);
  const all = [await setUpGuild(guilds, USERS[0], 0), await setUpGuild(guilds, USERS[1], 1), await setUpGuild(guilds, USERS[0], 2)];
  const rnd = random(20240601);
  const counter = { n: 0 };
  for (let round = 0; round < 60; round++) {
    await burst(guilds, all, rnd, 20, counter);
    const g = all[round % all.length];
    if (round === 10) {
      // g is all[1], owned by bob: its mod (alice) kicks, its owner bans, a member leaves.
      await guilds.kick(g.roomId, g.mod, USERS[4], 'spam');
      await guilds.ban(g.roomId, g.owner, USERS[5], 'worse');
      await guilds.leave(g.roomId, USERS[6]);
      [USERS[4], USERS[5], USERS[6]].forEach((u) => g.joined.delete(u));
    }
    if (round === 15) {
      await guilds.ban(g.roomId, g.owner, USERS[6]); // stays banned
      g.joined.delete(USERS[6]);
    }
    if (round === 20) {
      await guilds.unban(all[1].roomId, all[1].owner, USERS[5]);
      await guilds.join(all[1].roomId, USERS[5], all[1].mod); // the mod has @everyone's CREATE_INSTANT_INVITE
      all[1].joined.add(USERS[5]);
    }
    if (round === 25) {
      await guilds.deleteChannel(g.roomId, g.owner, g.channels[2]); // its messages stay, in a deleted channel
      await guilds.deleteOverwrite(g.roomId, g.owner, g.channels[1], g.overwritten, 'member');
      g.channels.pop();
    }
    if (round === 30) await guilds.updateSettings(g.roomId, g.owner, { name: 'Renamed', discoverable: true, icon: 'icon-hash' });
    if (round % 20 === 5) await closeCalls(guilds, g);
  }
  return all;
}

describe.each(testDatabaseOptions())('rebuild on $name', ({ options }) => {
  let opened: OpenedDatabase;
  let live: Record<string, unknown[]>;
  let total: number;

  beforeAll(async () => {
    opened = await openDatabase(await options());
    await playScenario(opened.db);
    live = await snapshotViews(opened.db);
    total = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM events`.execute(opened.db)).rows[0].n);
  }, 240_000);
  afterAll(() => opened.close());

  it('played a scenario that exercises every view', () => {
    expect(total).toBeGreaterThan(1200);
    const messages = live.messages as Array<{ edited_ts: unknown; pinned: boolean; body: string }>;
    expect(messages.length).toBeGreaterThan(300);
    expect(messages.some((m) => m.edited_ts !== null)).toBe(true);
    expect(messages.some((m) => m.pinned)).toBe(true);
    expect(live.reactions.length).toBeGreaterThan(30);
    expect((live.channels as Array<{ deleted: boolean }>).some((c) => c.deleted)).toBe(true);
    expect((live.roles as Array<{ deleted: boolean }>).some((r) => r.deleted)).toBe(true);
    const memberships = new Set((live.members as Array<{ membership: string }>).map((m) => m.membership));
    expect([...memberships].sort()).toEqual(['ban', 'join', 'leave']);
    expect(live.overwrites.length).toBeGreaterThan(0);
    expect(live.read_states.length).toBeGreaterThan(0);
  });

  it('rebuilds views equal to the live ones, reporting progress up to the total', async () => {
    const progress: Array<[number, number]> = [];
    const result = await rebuildProjections(opened.db, { onProgress: (done, of) => progress.push([done, of]) });
    expect(result.events).toBe(total);
    expect(await snapshotViews(opened.db)).toEqual(live);
    expect(progress[0]).toEqual([0, total]);
    expect(progress[progress.length - 1]).toEqual([total, total]);
    const checkpoint = await opened.db.selectFrom('projection_checkpoints').selectAll().where('name', '=', REBUILD_CHECKPOINT).executeTakeFirstOrThrow();
    const last = await sql<{ p: string }>`SELECT max(position)::text AS p FROM events`.execute(opened.db);
    expect(String(checkpoint.position)).toBe(last.rows[0].p);
  });

  it.each([1, 7, 64])('gives the same views with pages of %i events (rows touched after their flush)', async (batchSize) => {
    const progress: number[] = [];
    await rebuildProjections(opened.db, { batchSize, onProgress: (done) => progress.push(done) });
    expect(await snapshotViews(opened.db)).toEqual(live);
    expect(progress.length).toBe(Math.ceil(total / batchSize) + 1);
  });

  it('rebuilding twice gives the same result, checkpoint included', async () => {
    await rebuildProjections(opened.db, {});
    const first = await snapshotViews(opened.db, { includeCheckpoints: true });
    await rebuildProjections(opened.db, { batchSize: 100 });
    expect(await snapshotViews(opened.db, { includeCheckpoints: true })).toEqual(first);
  });

  it('reproduces snowflakes from (received_ts, position)', async () => {
    const creators = await sql<{ id: string; received_ts: string; position: string }>`
      SELECT m.id, e.received_ts, e.position FROM messages m JOIN events e ON e.event_id = m.event_id
      UNION ALL SELECT g.id, e.received_ts, e.position FROM guilds g JOIN events e ON e.room_id = g.room_id AND e.type = 'nexus.guild.create'
      UNION ALL SELECT c.id, e.received_ts, e.position FROM channels c
        JOIN LATERAL (SELECT * FROM events e WHERE e.room_id = c.room_id AND e.type = 'nexus.guild.channel' AND e.state_key = c.channel_key ORDER BY position LIMIT 1) e ON true`.execute(opened.db);
    expect(creators.rows.length).toBeGreaterThan(300);
    for (const row of creators.rows) expect(row.id).toBe(snowflakeFromLog(Number(row.received_ts), row.position));
    const ids = (rows: unknown[]) => rows.map((r) => (r as { id: string }).id);
    expect(ids((await snapshotViews(opened.db)).messages)).toEqual(ids(live.messages));
  });

  it('repairs damaged views', async () => {
    await opened.db.updateTable('messages').set({ body: 'tampered' }).execute();
    await opened.db.deleteFrom('members').where('membership', '=', 'ban').execute();
    await opened.db.deleteFrom('rooms').execute();
    await rebuildProjections(opened.db, {});
    expect(await snapshotViews(opened.db)).toEqual(live);
  });

  it('leaves the previous views intact when a rebuild is interrupted', async () => {
    await opened.db.deleteFrom('projection_checkpoints').execute();
    const failing = rebuildProjections(opened.db, {
      batchSize: 50,
      onProgress: (done) => {
        if (done >= 200) throw new Error('interrupted');
      },
    });
    await expect(failing).rejects.toThrow('interrupted');
    expect(await snapshotViews(opened.db)).toEqual(live);
    expect(await opened.db.selectFrom('projection_checkpoints').selectAll().execute()).toEqual([]);
  });

  it('keeps serving appends after a rebuild, and a later rebuild still agrees', async () => {
    await rebuildProjections(opened.db, {});
    const guilds = writerOn(opened.db, { now: () => 1_800_000_000_000 });
    const guild = live.guilds[0] as { room_id: string; owner: string };
    const channel = (live.channels as Array<{ room_id: string; channel_key: string; kind: number; deleted: boolean }>).find((c) => c.room_id === guild.room_id && c.kind === ChannelKind.Text && !c.deleted)!;
    const sent = await guilds.sendMessage(guild.room_id, guild.owner, { channel: channel.channel_key, body: 'after the rebuild' });
    await guilds.react(guild.room_id, guild.owner, channel.channel_key, sent.event_id, '👍');
    const after = await snapshotViews(opened.db);
    expect(after.messages.length).toBe(live.messages.length + 1);
    await rebuildProjections(opened.db, { batchSize: 33 });
    expect(await snapshotViews(opened.db)).toEqual(after);
  });
});

describe.each(testDatabaseOptions())('rebuild of an empty log on $name', ({ options }) => {
  it('empties the views and records position 0', async () => {
    const opened = await openDatabase(await options());
    try {
      const progress: Array<[number, number]> = [];
      const result = await rebuildProjections(opened.db, { onProgress: (d, t) => progress.push([d, t]) });
      expect(result.events).toBe(0);
      expect(progress).toEqual([[0, 0]]);
      const views = await snapshotViews(opened.db, { includeCheckpoints: true });
      expect(views.projection_checkpoints).toEqual([{ name: REBUILD_CHECKPOINT, position: '0' }]);
      for (const [table, rows] of Object.entries(views)) if (table !== 'projection_checkpoints') expect(rows).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
