// Rebuild benchmark (not a test): fills a fresh database with N events appended through the
// real room writer (a realistic mix, mostly messages), then times rebuildProjections and
// checks that the rebuilt views equal the live ones.
//
//   npx tsx bench/rebuild.ts [--events 100000] [--batch 10000] [--rooms 8] [--runs 3]
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/rebuild.ts
//
// With DATABASE_URL it works in a new database on that server (dropped at the end), else in
// a PGlite data directory under the system temp dir (removed at the end). The rebuild runs --runs times on the same log; `seconds` and
// `eventsPerSecond` are the median run's, `runs` lists every run's events/s (the first is
// the cold one). Prints one JSON object.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { systemClock } from '../src/clock.js';
import { ChannelKind, type StoredEvent } from '../src/events/event-types.js';
import { generateSigningKey } from '../src/events/signing-key.js';
import { createGuildService, type GuildService } from '../src/guilds/guild-service.js';
import { createRoomWriter } from '../src/guilds/room-writer.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { rebuildProjections } from '../src/store/rebuild.js';
import { snapshotViews } from '../src/store/views-snapshot.js';

const SERVER = 'bench.local';
const MEMBERS = 20;
const EMOJI = ['👍', '🎉', '❤️', '😂', 'party:1234'];
const WORDS = 'the quick brown fox jumps over a lazy dog while nexus replays its log again and again'.split(' ');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

interface Room {
  roomId: string;
  owner: string;
  members: string[];
  channels: string[];
  recent: StoredEvent[]; // the last messages, the usual targets of reactions, edits, deletes
  all: StoredEvent[];
}

async function createDatabaseOn(base: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `nexus_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function setUp(guilds: GuildService, n: number): Promise<Room> {
  const owner = `@owner${n}:${SERVER}`;
  const { roomId, events } = await guilds.createGuild(owner, { name: `Bench ${n}` });
  const members = [owner, ...Array.from({ length: MEMBERS - 1 }, (_, i) => `@user${n}_${i}:${SERVER}`)];
  await Promise.all(members.slice(1).map((u) => guilds.join(roomId, u, owner)));
  const channels = [events[4].pdu.state_key!];
  for (let i = 0; i < 3; i++) channels.push((await guilds.createChannel(roomId, owner, { name: `chan-${i}`, kind: ChannelKind.Text, position: i + 1 })).pdu.state_key!);
  return { roomId, owner, members, channels, recent: [], all: [] };
}

/** One command of the mix: ~82% messages, the rest reactions, edits, deletes, pins, profile changes. */
function command(guilds: GuildService, room: Room, rnd: () => number, n: number): Promise<unknown> {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const user = pick(room.members);
  // Mostly a recent message; one time in ten any message of the room (a flushed row in a rebuild).
  const target = room.recent.length === 0 ? undefined : rnd() < 0.9 ? pick(room.recent) : pick(room.all);
  const r = rnd();
  if (r < 0.82 || !target) {
    const words = Array.from({ length: 4 + Math.floor(rnd() * 20) }, () => pick(WORDS)).join(' ');
    const content: Record<string, unknown> = { channel: pick(room.channels), body: `${words} #${n}`, nonce: String(n) };
    if (n % 10 === 0) content.mentions = [pick(room.members)];
    return guilds.sendMessage(room.roomId, user, content).then((ev) => {
      room.recent.push(ev);
      room.all.push(ev);
      if (room.recent.length > 200) room.recent.shift();
    });
  }
  const channel = target.pdu.content.channel as string;
  if (r < 0.91) return guilds.react(room.roomId, user, channel, target.event_id, pick(EMOJI));
  if (r < 0.95) return guilds.editMessage(room.roomId, target.pdu.sender, { channel, target: target.event_id, body: `edited #${n}` });
  if (r < 0.975) return guilds.redact(room.roomId, rnd() < 0.5 ? target.pdu.sender : room.owner, target.event_id);
  if (r < 0.99) return guilds.setPinned(room.roomId, room.owner, channel, target.event_id, rnd() < 0.8);
  return guilds.setNick(room.roomId, user, user, `nick ${n}`);
}

/** Appends about `target` events through the room writer, in bursts of concurrent commands. */
async function fill(db: Db, target: number, roomCount: number): Promise<void> {
  const key = generateSigningKey('b1');
  const writer = createRoomWriter({ db, clock: systemClock, serverName: SERVER, signingKey: () => key });
  const guilds = createGuildService({ writer, serverName: SERVER });
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const rooms: Room[] = [];
  for (let i = 0; i < roomCount; i++) rooms.push(await setUp(guilds, i));
  const count = async () => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  let n = 0;
  // The room writer group-commits up to 100 commands per room in one transaction.
  for (let have = await count(); have < target; have = await count()) {
    const burst = Math.min(100 * roomCount, target - have);
    await Promise.allSettled(Array.from({ length: burst }, () => command(guilds, rooms[n % roomCount], rnd, n++)));
  }
}

async function main(): Promise<void> {
  const target = arg('events', 100_000);
  const batchSize = arg('batch', 10_000);
  const base = process.env.DATABASE_URL;
  const created = base ? await createDatabaseOn(base) : undefined;
  // PGlite in a data directory, as `nexus` runs it.
  const dataDir = created ? undefined : await mkdtemp(join(tmpdir(), 'nexus-bench-'));
  const opened = await openDatabase(created ? { databaseUrl: created.url } : { pgliteDir: dataDir });
  try {
    const fillStart = performance.now();
    await fill(opened.db, target, arg('rooms', 8)); // in its own scope: what it held is garbage by the rebuild
    const fillSeconds = (performance.now() - fillStart) / 1000;

    // Kept as text, not as 100,000 row objects, so the rebuild's garbage collections don't trace it.
    const live = await snapshotViews(opened.db);
    const counts = { messages: live.messages.length, reactions: live.reactions.length };
    const liveText = JSON.stringify(live);
    const runs: Array<{ events: number; ms: number }> = [];
    for (let i = 0; i < Math.max(1, arg('runs', 3)); i++) runs.push(await rebuildProjections(opened.db, { batchSize }));
    const viewsEqual = JSON.stringify(await snapshotViews(opened.db)) === liveText;
    const { events, ms } = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
    const seconds = ms / 1000;
    console.log(JSON.stringify({
      events,
      seconds: Number(seconds.toFixed(3)),
      eventsPerSecond: Math.round(events / seconds),
      backend: opened.kind,
      runs: runs.map((r) => Math.round(r.events / (r.ms / 1000))),
      batchSize,
      ...counts,
      viewsEqual,
      fillSeconds: Number(fillSeconds.toFixed(1)),
    }));
  } finally {
    await opened.close();
    await created?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
