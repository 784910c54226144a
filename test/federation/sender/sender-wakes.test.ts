import { generateSigningKey } from '../../../src/events/signing-key.js';
import { createServerResolver } from '../../../src/federation/discovery.js';
import { createFederationClient } from '../../../src/federation/federation-client.js';
import { createFederationSender, type FederationSender } from '../../../src/federation/sender/index.js';
import { createGuildService } from '../../../src/guilds/guild-service.js';
import { createRoomWriter } from '../../../src/guilds/room-writer.js';
import { silentLogger } from '../../../src/log.js';
import { openDatabase } from '../../../src/store/database.js';
import { scanLog } from '../../../src/store/event-log.js';
import { testDatabaseOptions } from '../../helpers/databases.js';
import { startFakePeer } from './fake-peer.js';

// The sender as homeserver.ts wires it: woken by every append, and here with no poll timer,
// so that only the wakes can move events. An event appended while the destination's run is
// finishing (its queue looked empty, it has not returned yet) must still go out: the round
// that feeds it skips destinations in flight, so the run must be started again.

const US = 'a.test';
const alice = `@alice:${US}`;

describe.each(testDatabaseOptions())('federation sender woken by appends on $name', ({ options }) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers every event appended during sends without a poll timer, once each and in order', async () => {
    const remote = await startFakePeer('ok');
    cleanups.push(() => remote.close());
    remote.delayMs = 2; // transactions in flight while the next appends land
    const database = await openDatabase(await options());
    const key = generateSigningKey('t1');
    let sender: FederationSender | undefined;
    const writer = createRoomWriter({ db: database.db, clock: { now: () => Date.now() }, serverName: US, signingKey: () => key, onAppended: () => sender?.wake() });
    const guilds = createGuildService({ writer, serverName: US });
    const resolver = createServerResolver({ clock: { now: () => Date.now() }, insecure: true });
    const client = createFederationClient({ serverName: US, signingKey: () => key, resolve: (s) => resolver.resolveServer(s), insecure: true, timeoutMs: 5_000 });
    sender = createFederationSender({ db: database.db, clock: { now: () => Date.now() }, log: silentLogger(), serverName: US, client, pollMs: 0 });
    cleanups.push(async () => {
      await sender!.stop();
      await client.close();
      await resolver.close();
      await database.close();
    });
    await sender.start();

    const { roomId, events } = await guilds.createGuild(alice, { name: 'Hall' });
    const guild = await database.db.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow();
    await database.db.insertInto('members').values({ room_id: roomId, user_id: `@bob:${remote.name}`, guild_id: guild.id, membership: 'join', nick: null, roles: '[]', joined_ts: 0 }).execute();
    const channel = events[4].pdu.state_key!;
    // One at a time, at irregular moments relative to the sends in flight.
    for (let i = 0; i < 60; i++) {
      await guilds.sendMessage(roomId, alice, { channel, body: `m${i}` });
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, (i * 7) % 5));
    }
    const logged: string[] = [];
    for await (const page of scanLog(database.db, { roomId })) logged.push(...page.map((e) => e.event_id));
    const messages = logged.slice(events.length);
    expect(messages).toHaveLength(60);

    // Never woken by hand, never ticked: the appends' wakes alone deliver all of it. (The
    // guild's own events go too when the feeder reads them after bob's member row is in:
    // the outbox follows the current membership.) The deadline only bounds a hang.
    const delivered = () => new Set(remote.accepted());
    for (const until = Date.now() + 20_000; !messages.every((id) => delivered().has(id)) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    const accepted = remote.accepted();
    expect(accepted.slice(-60)).toEqual(messages);
    expect(accepted).toEqual(logged.filter((id) => accepted.includes(id))); // in log order, none twice
  });
});
