import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, type SigningKey } from '../../../src/events/signing-key.js';
import { createServerResolver } from '../../../src/federation/discovery.js';
import { createFederationClient, type FederationClient } from '../../../src/federation/federation-client.js';
import { createFederationSender, federationStatus, type FederationSender } from '../../../src/federation/sender/index.js';
import { accountRoomId, createGuildService, type GuildService } from '../../../src/guilds/guild-service.js';
import { createRoomWriter } from '../../../src/guilds/room-writer.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics, type Metrics } from '../../../src/metrics.js';
import { openDatabase, type DatabaseOptions, type OpenedDatabase } from '../../../src/store/database.js';
import { scanLog } from '../../../src/store/event-log.js';
import { testDatabaseOptions } from '../../helpers/databases.js';
import { FakeClock } from '../federation-harness.js';
import { startFakePeer, type FakePeer, type PeerMode } from './fake-peer.js';

const US = 'a.test';
const alice = `@alice:${US}`;

// One homeserver's worth of parts on one database: a room writer and guild service to
// append with, and a federation sender with its own client. The clock is fake (the backoff
// is driven by advancing it) and the random draw fixed at 0.5, so that every retry delay is
// exactly its nominal value: 1 s, 2 s, 4 s, …
interface Parts {
  database: OpenedDatabase;
  guilds: GuildService;
  sender: FederationSender;
  client: FederationClient;
  metrics: Metrics;
  /** Transactions this sender sent. */
  attempts: { n: number };
  close(): Promise<void>;
}

describe.each(testDatabaseOptions())('federation sender on $name', ({ name, options }) => {
  const clock = new FakeClock();
  const key: SigningKey = generateSigningKey('t1');
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function parts(dbOptions: DatabaseOptions, senderOptions: { catchUpThreshold?: number; maxPdusPerTxn?: number; start?: boolean; allowDestination?: (s: string) => boolean } = {}): Promise<Parts> {
    const database = await openDatabase(dbOptions);
    const writer = createRoomWriter({ db: database.db, clock, serverName: US, signingKey: () => key });
    const guilds = createGuildService({ writer, serverName: US });
    const resolver = createServerResolver({ clock, insecure: true });
    const client = createFederationClient({ serverName: US, signingKey: () => key, resolve: (s) => resolver.resolveServer(s), insecure: true, timeoutMs: 2_000 });
    const attempts = { n: 0 };
    const counted: Pick<FederationClient, 'request'> = {
      request(...args) {
        attempts.n++;
        return client.request(...args);
      },
    };
    const metrics = createMetrics({ processMetrics: false });
    const sender = createFederationSender({
      db: database.db, clock, log: silentLogger(), serverName: US, client: counted, random: () => 0.5, pollMs: 0, requestTimeoutMs: 300, metrics,
      catchUpThreshold: senderOptions.catchUpThreshold, maxPdusPerTxn: senderOptions.maxPdusPerTxn, allowDestination: senderOptions.allowDestination,
    });
    if (senderOptions.start !== false) {
      await sender.start();
      await sender.idle(); // the first round is over before the test appends anything
    }
    let closed = false;
    const p: Parts = {
      database, guilds, sender, client, metrics, attempts,
      async close() {
        if (closed) return;
        closed = true;
        await sender.stop();
        await client.close();
        await resolver.close();
        await database.close();
      },
    };
    cleanups.push(() => p.close());
    return p;
  }

  async function peer(mode: PeerMode = 'ok'): Promise<FakePeer> {
    const p = await startFakePeer(mode);
    cleanups.push(() => p.close());
    return p;
  }

  /** A guild of alice's in which a user of `peerName` is a joined member. The member row is
   *  written straight into the members projection: a real remote join needs send_join. */
  async function guildWith(p: Parts, peerName: string, label = 'Hall'): Promise<{ roomId: string; channel: string }> {
    const { roomId, events } = await p.guilds.createGuild(alice, { name: label });
    const guild = await p.database.db.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow();
    await p.database.db.insertInto('members').values({ room_id: roomId, user_id: `@bob:${peerName}`, guild_id: guild.id, membership: 'join', nick: null, roles: '[]', joined_ts: 0 }).execute();
    return { roomId, channel: events[4].pdu.state_key! };
  }

  async function say(p: Parts, roomId: string, channel: string, n: number, prefix = 'm'): Promise<void> {
    await Promise.all(Array.from({ length: n }, (_, i) => p.guilds.sendMessage(roomId, alice, { channel, body: `${prefix}${i}` })));
  }

  async function roomEventIds(p: Parts, roomId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of scanLog(p.database.db, { roomId })) ids.push(...page.map((e) => e.event_id));
    return ids;
  }

  async function outboxCount(p: Parts): Promise<number> {
    const row = await p.database.db.selectFrom('federation_outbox').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function settle(p: Parts): Promise<void> {
    p.sender.wake();
    await p.sender.idle();
  }

  it('sends every event to the peer in log order, in transactions of at most 50, then empties the queue', async () => {
    const remote = await peer();
    const p = await parts(await options());
    const { roomId, channel } = await guildWith(p, remote.name);
    await say(p, roomId, channel, 120);
    await settle(p);

    const expected = await roomEventIds(p, roomId);
    expect(expected).toHaveLength(125); // 5 events make the guild
    expect(remote.accepted()).toEqual(expected);
    expect(remote.received.map((t) => t.body.pdus.length)).toEqual([50, 50, 25]);
    for (const t of remote.received) {
      expect(t.body.origin).toBe(US);
      expect(t.body.origin_server_ts).toBe(clock.now());
      expect(t.body.edus).toEqual([]);
      expect(t.txnId).toMatch(/^[0-9]+-[0-9]+-[A-Za-z0-9_-]{16}$/);
      expect(Object.keys(t.body.pdus[0])).not.toContain('event_id');
    }
    expect(await outboxCount(p)).toBe(0);
    const [status] = await p.sender.status();
    expect(status).toMatchObject({ destination: remote.name, pending: 0, failures: 0, sent_events: 125, last_success_ts: clock.now(), last_failure_ts: null });
    const text = await p.metrics.render();
    expect(text).toContain(`nexus_federation_sent_events_total{destination="${remote.name}"} 125`);
    expect(text).toContain(`nexus_federation_outbox_pending{destination="${remote.name}"} 0`);
    expect(text).toContain(`nexus_federation_destination_failures{destination="${remote.name}"} 0`);
  });

  it('starts from the end of the log: a new server does not replay its history to peers', async () => {
    const remote = await peer();
    const p = await parts(await options(), { start: false });
    const { roomId, channel } = await guildWith(p, remote.name);
    await say(p, roomId, channel, 3, 'old');
    await p.sender.start();
    await say(p, roomId, channel, 2, 'new');
    await settle(p);
    expect(remote.accepted()).toEqual((await roomEventIds(p, roomId)).slice(-2));
  });

  it('queues nothing for a server the trust policy refuses', async () => {
    const [trusted, untrusted] = [await peer(), await peer()];
    const p = await parts(await options(), { allowDestination: (s) => s === trusted.name });
    const { roomId, channel } = await guildWith(p, trusted.name);
    const guild = await p.database.db.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow();
    await p.database.db.insertInto('members').values({ room_id: roomId, user_id: `@eve:${untrusted.name}`, guild_id: guild.id, membership: 'join', nick: null, roles: '[]', joined_ts: 0 }).execute();
    await say(p, roomId, channel, 3);
    await settle(p);
    expect(trusted.accepted()).toHaveLength(8);
    expect(untrusted.received).toEqual([]);
    expect((await p.sender.status()).map((d) => d.destination)).toEqual([trusted.name]);
  });

  it('queues nothing of an account room', async () => {
    const remote = await peer();
    const p = await parts(await options());
    const { roomId, channel } = await guildWith(p, remote.name);
    const message = await p.guilds.sendMessage(roomId, alice, { channel, body: 'read me' });
    // alice's read marker lives in her account room. Pretend the peer had a member there:
    // it must still get nothing of it.
    await p.guilds.markRead(alice, roomId, channel, message.event_id);
    const accountRoom = accountRoomId(alice, US);
    const guild = await p.database.db.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow();
    await p.database.db.insertInto('members').values({ room_id: accountRoom, user_id: `@bob:${remote.name}`, guild_id: guild.id, membership: 'join', nick: null, roles: '[]', joined_ts: 0 }).execute();
    await p.guilds.markRead(alice, roomId, channel, message.event_id);
    await settle(p);
    expect(new Set(remote.received.flatMap((t) => t.body.pdus.map((pdu) => pdu.room_id)))).toEqual(new Set([roomId]));
    expect(remote.accepted()).toHaveLength(6);
  });

  it('keeps the events of a failing peer, retries it with backoff, and delivers all of them once it recovers', async () => {
    const remote = await peer('fail500');
    const p = await parts(await options());
    const { roomId, channel } = await guildWith(p, remote.name);
    await say(p, roomId, channel, 10);
    await settle(p);
    expect(remote.received).toHaveLength(1);
    const firstTxn = remote.received[0].txnId;
    let [status] = await federationStatus(p.database.db);
    expect(status).toMatchObject({ destination: remote.name, pending: 15, failures: 1, retry_at_ts: clock.now() + 1_000, last_success_ts: null, last_failure_ts: clock.now() });
    expect(status.last_error).toMatch(/500/);
    expect(await p.metrics.render()).toContain(`nexus_federation_destination_failures{destination="${remote.name}"} 1`);

    // Not before its time.
    clock.advance(999);
    await settle(p);
    expect(remote.received).toHaveLength(1);

    // Each kind of failure counts, a refusal (4xx) included: nothing is dropped.
    const schedule: Array<[PeerMode, number, RegExp]> = [
      ['fail500', 1, /500/],
      ['hang', 2_000, /timeout/],
      ['refuse', 4_000, /unreachable/],
      ['reject400', 8_000, /rejected 400/],
    ];
    let failures = 1;
    for (const [mode, wait, error] of schedule) {
      remote.mode = mode;
      clock.advance(wait);
      await settle(p);
      failures++;
      [status] = await federationStatus(p.database.db);
      expect(status).toMatchObject({ failures, pending: 15, retry_at_ts: clock.now() + 1_000 * 2 ** (failures - 1) });
      expect(status.last_error).toMatch(error);
    }
    // A reset connection is tried twice (the client's one retry on a fresh socket).
    expect(remote.received.map((t) => t.outcome)).toEqual([500, 500, 'hang', 'refuse', 'refuse', 400]);
    // The same rows went out under the same transaction id each time.
    expect(new Set(remote.received.map((t) => t.txnId))).toEqual(new Set([firstTxn]));

    await say(p, roomId, channel, 60, 'later');
    remote.mode = 'ok';
    clock.advance(16_000);
    await settle(p);
    expect(remote.accepted()).toEqual(await roomEventIds(p, roomId));
    expect(await outboxCount(p)).toBe(0);
    [status] = await federationStatus(p.database.db);
    expect(status).toMatchObject({ failures: 0, retry_at_ts: 0, pending: 0, sent_events: 75, last_success_ts: clock.now() });
  });

  it('retries a backed-off peer as soon as it is heard from, not when its backoff ends', async () => {
    const remote = await peer('fail500');
    const p = await parts(await options());
    const { roomId, channel } = await guildWith(p, remote.name);
    await say(p, roomId, channel, 3);
    await settle(p);
    for (let i = 0; i < 4; i++) {
      clock.advance(60_000);
      await settle(p);
    }
    let [status] = await federationStatus(p.database.db);
    expect(status).toMatchObject({ failures: 5, retry_at_ts: clock.now() + 16_000 });
    remote.mode = 'ok';
    await settle(p);
    expect(remote.accepted()).toEqual([]); // still backing off: nothing told us it is back
    p.sender.peerReachable(remote.name); // e.g. it sent us a transaction
    for (let i = 0; i < 50 && remote.accepted().length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await settle(p);
    }
    expect(remote.accepted()).toEqual(await roomEventIds(p, roomId));
    [status] = await federationStatus(p.database.db);
    expect(status).toMatchObject({ failures: 0, pending: 0 });
  });

  it('keeps its queue and its place in the log across a restart', async () => {
    const remote = await peer('fail500');
    const dbOptions = await options();
    let dataDir: string | undefined;
    if (!dbOptions.databaseUrl) {
      dataDir = await mkdtemp(join(tmpdir(), 'nexus-sender-'));
      dbOptions.pgliteDir = dataDir;
      cleanups.unshift(() => rm(dataDir!, { recursive: true, force: true }));
    }
    const first = await parts(dbOptions);
    const { roomId, channel } = await guildWith(first, remote.name);
    await say(first, roomId, channel, 20);
    await settle(first);
    expect(remote.accepted()).toEqual([]);
    // Appended while no sender runs: the durable cursor finds them after the restart.
    await first.sender.stop();
    await say(first, roomId, channel, 7, 'while-down');
    const expected = await roomEventIds(first, roomId);
    await first.close();

    remote.mode = 'ok';
    clock.advance(1_000);
    const second = await parts(dbOptions);
    await settle(second);
    expect(remote.accepted()).toEqual(expected);
    expect(await outboxCount(second)).toBe(0);
  });

  it('after a long outage, sends only the newest events of a backlogged room and skips the rest', async () => {
    const remote = await peer('fail500');
    const p = await parts(await options(), { catchUpThreshold: 20, maxPdusPerTxn: 10 });
    const big = await guildWith(p, remote.name, 'Busy');
    const small = await guildWith(p, remote.name, 'Quiet');
    await say(p, big.roomId, big.channel, 40);
    await say(p, small.roomId, small.channel, 5);
    await settle(p);
    expect(remote.received).toHaveLength(1);

    remote.mode = 'ok';
    clock.advance(1_000);
    await settle(p);
    const bigIds = await roomEventIds(p, big.roomId);
    const smallIds = await roomEventIds(p, small.roomId);
    expect(remote.accepted()).toEqual([...bigIds.slice(-10), ...smallIds]);
    expect(await outboxCount(p)).toBe(0);
    const [status] = await p.sender.status();
    expect(status).toMatchObject({ pending: 0, sent_events: 20 });
  });

  it('sends EDUs to the servers of a room, best effort, beside the PDUs', async () => {
    const remote = await peer();
    const p = await parts(await options());
    const { roomId } = await guildWith(p, remote.name);
    await settle(p);
    const before = remote.received.length;
    p.sender.queueEdu(roomId, { edu_type: 'nexus.typing', content: { room_id: roomId, user_id: alice, typing: true } });
    await settle(p);
    expect(remote.received.slice(before).map((t) => [t.body.pdus.length, t.body.edus])).toEqual([
      [0, [{ edu_type: 'nexus.typing', content: { room_id: roomId, user_id: alice, typing: true } }]],
    ]);
    expect(remote.received[before].txnId).toMatch(/^edu-/);
  });

  (name === 'postgres' ? it : it.skip)('with two senders on one database, sends each event once and in order', async () => {
    const remotes = [await peer(), await peer()];
    for (const r of remotes) r.delayMs = 3; // keep transactions in flight while the other sender looks
    const dbOptions = await options();
    const a = await parts(dbOptions);
    const b = await parts(dbOptions);
    const rooms = [await guildWith(a, remotes[0].name, 'One'), await guildWith(b, remotes[1].name, 'Two')];
    const wakes: Array<Promise<void>> = [];
    for (let round = 0; round < 8; round++) {
      await Promise.all([say(a, rooms[0].roomId, rooms[0].channel, 30, `a${round}-`), say(b, rooms[1].roomId, rooms[1].channel, 30, `b${round}-`)]);
      a.sender.wake();
      b.sender.wake();
      wakes.push(round % 2 ? a.sender.idle() : b.sender.idle());
    }
    await Promise.all(wakes);
    await Promise.all([a.sender.idle(), b.sender.idle()]);
    for (const [i, remote] of remotes.entries()) {
      const expected = await roomEventIds(a, rooms[i].roomId);
      expect(expected).toHaveLength(245);
      expect(remote.accepted()).toEqual(expected);
      expect(remote.received.every((t) => t.outcome === 200)).toBe(true);
    }
    expect(a.attempts.n + b.attempts.n).toBe(remotes[0].received.length + remotes[1].received.length);
  });
});
