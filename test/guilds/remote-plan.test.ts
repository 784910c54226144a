import { systemClock } from '../../src/clock.js';
import { selectAuthEvents } from '../../src/events/auth-events.js';
import { EventType } from '../../src/events/event-types.js';
import { finalizeEvent } from '../../src/events/finalize-event.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { createGuildService } from '../../src/guilds/guild-service.js';
import { createRoomWriter } from '../../src/guilds/room-writer.js';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { getLoggedEvent } from '../../src/store/event-log.js';
import { testDatabaseOptions } from '../helpers/databases.js';

const alice = '@alice:test.local';

// A peer's batch often resends events we hold (get_missing_events walks back to the create
// event): an event whose auth events are such duplicates must find them in the log.
describe.each(testDatabaseOptions())('a remote batch on $name', ({ options }) => {
  let opened: OpenedDatabase;
  beforeAll(async () => {
    opened = await openDatabase(await options());
  });
  afterAll(() => opened.close());

  it('accepts an event whose auth events came again, as duplicates, in the same batch', async () => {
    const key = generateSigningKey('t1');
    const writer = createRoomWriter({ db: opened.db, clock: systemClock, serverName: 'test.local', signingKey: () => key });
    const { roomId, events } = await createGuildService({ writer, serverName: 'test.local' }).createGuild(alice, { name: 'Hall' });
    const channel = events[4].pdu.state_key!;
    const [state, head] = [await writer.stateOf(roomId), await writer.headOf(roomId)];
    const content = { channel, body: 'built elsewhere' };
    const message = finalizeEvent({
      room_id: roomId, type: EventType.Message, sender: alice, origin: 'test.local', origin_server_ts: systemClock.now(),
      depth: head.depth + 1, prev_events: head.extremities, auth_events: selectAuthEvents(EventType.Message, undefined, alice, content, state), content,
    }, 'test.local', key);
    const resent = events.filter((e) => message.pdu.auth_events.includes(e.event_id)).map(({ event_id, pdu }) => ({ event_id, pdu }));
    expect(resent.map((e) => e.pdu.type)).toContain(EventType.Create);

    const verdicts = await writer.submitRemote(roomId, { events: [...resent, message] });
    for (const e of resent) expect(verdicts.get(e.event_id)).toEqual({ status: 'duplicate' });
    expect(verdicts.get(message.event_id)).toEqual({ status: 'accepted', softFailed: false });
    expect(await getLoggedEvent(opened.db, message.event_id)).toBeDefined();
  });

  // A rejected event changes nothing: the events built on it (its server's later events
  // cite it) stand on the state before it, whether it came in their batch or an earlier one.
  it.each([['an earlier batch', false], ['the same batch', true]])('accepts events built on an event it rejected in %s', async (_, together) => {
    const key = generateSigningKey('t1');
    const writer = createRoomWriter({ db: opened.db, clock: systemClock, serverName: 'test.local', signingKey: () => key });
    const { roomId, events } = await createGuildService({ writer, serverName: 'test.local' }).createGuild(alice, { name: 'Hall' });
    const channel = events[4].pdu.state_key!;
    const state = await writer.stateOf(roomId);
    const head = await writer.headOf(roomId);
    const message = (sender: string, body: string, prev: string[], depth: number) => {
      const content = { channel, body };
      return finalizeEvent({
        room_id: roomId, type: EventType.Message, sender, origin: 'test.local', origin_server_ts: systemClock.now(),
        depth, prev_events: prev, auth_events: selectAuthEvents(EventType.Message, undefined, sender, content, state), content,
      }, 'test.local', key);
    };
    const refused = message('@mallory:test.local', 'not a member', head.extremities, head.depth + 1);
    const child = message(alice, 'built on it', [refused.event_id], head.depth + 2);
    const grandchild = message(alice, 'and on that', [child.event_id], head.depth + 3);

    const first = await writer.submitRemote(roomId, { events: together ? [refused, child] : [refused] });
    expect(first.get(refused.event_id)).toMatchObject({ status: 'rejected' });
    const second = together ? first : await writer.submitRemote(roomId, { events: [child] });
    expect(second.get(child.event_id)).toEqual({ status: 'accepted', softFailed: false });
    expect((await writer.submitRemote(roomId, { events: [grandchild] })).get(grandchild.event_id)).toEqual({ status: 'accepted', softFailed: false });
    expect(await getLoggedEvent(opened.db, refused.event_id)).toBeUndefined();
    // What the rejected event stood on stays a forward extremity (nothing accepted cites it);
    // our next event merges both.
    expect((await writer.headOf(roomId)).extremities).toEqual([...head.extremities, grandchild.event_id].sort());
  });
});
