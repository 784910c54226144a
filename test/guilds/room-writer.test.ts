import { systemClock } from '../../src/clock.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { createGuildService } from '../../src/guilds/guild-service.js';
import { AuthRejection, createRoomWriter } from '../../src/guilds/room-writer.js';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { countEvents } from '../../src/store/event-log.js';
import { testDatabaseOptions } from '../helpers/databases.js';

const alice = '@alice:test.local';
const bob = '@bob:test.local';

describe.each(testDatabaseOptions())('room writer on $name', ({ options }) => {
  let opened: OpenedDatabase;
  beforeAll(async () => {
    opened = await openDatabase(await options());
  });
  afterAll(() => opened.close());

  function service() {
    const key = generateSigningKey('t1');
    const writer = createRoomWriter({ db: opened.db, clock: systemClock, serverName: 'test.local', signingKey: () => key });
    return { writer, guilds: createGuildService({ writer, serverName: 'test.local' }) };
  }

  it('creates a guild and projects it, then group-commits a burst of messages in order', async () => {
    const { guilds } = service();
    const { roomId, events } = await guilds.createGuild(alice, { name: 'Hall' });
    expect(events.map((e) => e.pdu.type)).toEqual(['nexus.guild.create', 'nexus.guild.member', 'nexus.guild.role', 'nexus.guild.settings', 'nexus.guild.channel']);
    const guild = await opened.db.selectFrom('guilds').selectAll().where('room_id', '=', roomId).executeTakeFirstOrThrow();
    expect(guild.name).toBe('Hall');
    const channel = await opened.db.selectFrom('channels').selectAll().where('room_id', '=', roomId).executeTakeFirstOrThrow();
    expect(channel.name).toBe('general');

    const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => guilds.sendMessage(roomId, alice, { channel: channel.channel_key, body: `m${i}` })));
    const depths = sent.map((e) => e.pdu.depth);
    expect(depths).toEqual([...depths].sort((a, b) => a - b));
    const rows = await opened.db.selectFrom('messages').select(['body', 'id']).where('channel_id', '=', channel.id).orderBy('id').execute();
    expect(rows.map((r) => r.body)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    // A linear DAG: each event's only prev event is the one before it.
    for (let i = 1; i < sent.length; i++) expect(sent[i].pdu.prev_events).toEqual([sent[i - 1].event_id]);
  });

  it('rejects an unauthorized event, writes nothing for it, and commits the rest of the batch', async () => {
    const { guilds } = service();
    const { roomId, events } = await guilds.createGuild(alice, { name: 'Private' });
    const channelKey = events[4].pdu.state_key!;
    const before = await countEvents(opened.db);
    const results = await Promise.allSettled([
      guilds.sendMessage(roomId, alice, { channel: channelKey, body: 'ok 1' }),
      guilds.sendMessage(roomId, bob, { channel: channelKey, body: 'bob is not a member' }),
      guilds.sendMessage(roomId, alice, { channel: channelKey, body: 'ok 2' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(AuthRejection);
    expect(await countEvents(opened.db)).toBe(before + 2);
  });

  it('detects a concurrent writer by expected version and redrafts against the new state', async () => {
    const a = service();
    const b = service(); // a second "process" on the same database, with its own cache
    const { roomId, events } = await a.guilds.createGuild(alice, { name: 'Race' });
    const channelKey = events[4].pdu.state_key!;
    await b.guilds.sendMessage(roomId, alice, { channel: channelKey, body: 'from b' });
    await a.writer.stateOf(roomId); // a's cache is now stale
    const ev = await a.guilds.sendMessage(roomId, alice, { channel: channelKey, body: 'from a' });
    const head = await opened.db.selectFrom('rooms').selectAll().where('room_id', '=', roomId).executeTakeFirstOrThrow();
    expect(Number(head.version)).toBe(7);
    expect(head.forward_extremities).toEqual([ev.event_id]);
  });

  it('never appends, on a retry, a command it has already refused', async () => {
    const a = service();
    const b = service();
    const { roomId, events } = await a.guilds.createGuild(alice, { name: 'Retry' });
    const channelKey = events[4].pdu.state_key!;
    await a.writer.stateOf(roomId); // a caches the state in which bob is not a member
    await b.guilds.join(roomId, bob, alice); // another process lets bob in: a is now stale
    // The first command is refused at once (carol is nobody) and occupies a's writer, so the
    // next two queue into one batch, drafted against the stale state: bob's message is
    // refused, alice's accepted, and the commit then meets b's append and is retried.
    const [, refused, ok] = await Promise.allSettled([
      a.guilds.sendMessage(roomId, '@carol:test.local', { channel: channelKey, body: 'carol is nobody' }),
      a.guilds.sendMessage(roomId, bob, { channel: channelKey, body: 'refused while stale' }),
      a.guilds.sendMessage(roomId, alice, { channel: channelKey, body: 'accepted after the retry' }),
    ]);
    expect(refused.status).toBe('rejected');
    expect(ok.status).toBe('fulfilled');
    const bodies = (await opened.db.selectFrom('messages').select('body').where('room_id', '=', roomId).execute()).map((r) => r.body);
    expect(bodies).toEqual(['accepted after the retry']);
  });
});
