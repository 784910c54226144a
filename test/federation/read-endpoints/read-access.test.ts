// Who may read what over the read endpoints (spec/federation.md, "Read access"), over real
// HTTP: a server with no member is refused (403 on room endpoints, 404 on event/{id}); an
// invite or a join lets it in; a discoverable guild is readable by any trusted server; a
// server that left keeps what it saw as a member; account rooms are served to nobody.
import type { StoredEvent } from '../../../src/events/event-types.js';
import type { TestServer } from '../federation-harness.js';
import { testDatabaseOptions } from '../../helpers/databases.js';
import { enc, P, startReadFixture, type Answer, type ReadFixture } from './read-fixture.js';

describe.each(testDatabaseOptions())('federation read access on $name', ({ options }) => {
  let f: ReadFixture;
  beforeAll(async () => {
    f = await startReadFixture(options);
  });
  afterAll(() => f.close());

  /** Every endpoint about `roomId`, naming `at` where an endpoint names an event. */
  async function askAll(from: TestServer, roomId: string, at: StoredEvent): Promise<Record<string, number>> {
    const room = enc(roomId);
    const answers: Record<string, Answer> = {
      event: await f.get(from, `${P}/event/${enc(at.event_id)}`),
      state: await f.get(from, `${P}/state/${room}`),
      stateAt: await f.get(from, `${P}/state/${room}?event_id=${enc(at.event_id)}`),
      stateIds: await f.get(from, `${P}/state_ids/${room}`),
      backfill: await f.get(from, `${P}/backfill/${room}?v=${enc(at.event_id)}`),
      missing: await f.post(from, `${P}/get_missing_events/${room}`, { earliest_events: [], latest_events: [at.event_id] }),
    };
    for (const a of Object.values(answers)) if (a.status !== 200) expect(a.errcode).toBe(a.status === 403 ? 'N_FORBIDDEN' : 'N_NOT_FOUND');
    return Object.fromEntries(Object.entries(answers).map(([k, a]) => [k, a.status]));
  }
  const refused = { event: 404, state: 403, stateAt: 403, stateIds: 403, backfill: 403, missing: 403 };
  const allowed = { event: 200, state: 200, stateAt: 200, stateIds: 200, backfill: 200, missing: 200 };

  async function guildWithMessage(name: string) {
    const { roomId, events } = await f.homeGuilds.createGuild(f.alice, { name });
    const channel = events[4].pdu.state_key!;
    const msg = await f.homeGuilds.sendMessage(roomId, f.alice, { channel, body: 'hello' });
    return { roomId, channel, msg };
  }

  it('a server with no member is refused, and learns nothing about the events it names', async () => {
    const { roomId, msg } = await guildWithMessage('Closed');
    expect(await askAll(f.stranger, roomId, msg)).toEqual(refused);
    expect(await askAll(f.peer, roomId, msg)).toEqual(refused);
    // An unknown event id gets the very same answers.
    const unknown = { event_id: '$' + 'Z'.repeat(43), pdu: msg.pdu };
    expect(await askAll(f.peer, roomId, unknown)).toEqual(refused);
  });

  it('an invite lets the server in, and so does a join; a stranger stays out', async () => {
    const { roomId, msg } = await guildWithMessage('Invited');
    await f.invite(roomId, f.bob);
    expect(await askAll(f.peer, roomId, msg)).toEqual(allowed);
    await f.peerGuilds.join(roomId, f.bob);
    expect(await askAll(f.peer, roomId, msg)).toEqual(allowed);
    expect(await askAll(f.stranger, roomId, msg)).toEqual(refused);
  });

  it('a discoverable guild is readable by any trusted server', async () => {
    const { roomId, msg } = await guildWithMessage('Public');
    expect(await askAll(f.stranger, roomId, msg)).toEqual(refused);
    await f.homeGuilds.updateSettings(roomId, f.alice, { discoverable: true });
    expect(await askAll(f.stranger, roomId, msg)).toEqual(allowed);
    const state = await f.get(f.stranger, `${P}/state/${enc(roomId)}`);
    expect(state.body.pdus.length).toBeGreaterThan(0);
  });

  it('a server that left may still read at the events where it had a member, and no further', async () => {
    const { roomId, channel } = await guildWithMessage('Left');
    await f.invite(roomId, f.bob);
    await f.peerGuilds.join(roomId, f.bob);
    const during = await f.homeGuilds.sendMessage(roomId, f.alice, { channel, body: 'bob sees this' });
    await f.peerGuilds.leave(roomId, f.bob);
    const after = await f.homeGuilds.sendMessage(roomId, f.alice, { channel, body: 'bob is gone' });

    const room = enc(roomId);
    expect((await f.get(f.peer, `${P}/state/${room}`)).status).toBe(403);
    expect(await askAll(f.peer, roomId, during)).toEqual({ ...allowed, state: 403, stateIds: 403 });
    expect(await askAll(f.peer, roomId, after)).toEqual(refused);
    const back = await f.get(f.peer, `${P}/backfill/${room}?v=${enc(during.event_id)}&limit=2`);
    expect(back.body.pdus).toEqual([during.pdu, (await f.logOf(roomId)).find((e) => e.pdu.state_key === f.bob && e.pdu.content.membership === 'join')!.pdu]);
  });

  it("an account room is never served: not found, as if it did not exist", async () => {
    const { roomId, channel, msg } = await guildWithMessage('Read');
    await f.homeGuilds.markRead(f.alice, roomId, channel, msg.event_id);
    const accountRoom = (await f.opened.db.selectFrom('events').select(['room_id', 'event_id']).where('room_id', 'like', '!acct_%').orderBy('position', 'desc').executeTakeFirstOrThrow());
    const readState = (await f.logOf(accountRoom.room_id)).at(-1)!;
    for (const server of [f.peer, f.stranger]) {
      const answers = await askAll(server, accountRoom.room_id, readState);
      expect(answers).toEqual({ event: 404, state: 404, stateAt: 404, stateIds: 404, backfill: 404, missing: 404 });
    }
  });

  it('an unknown room is not found', async () => {
    const { msg } = await guildWithMessage('Elsewhere');
    const answers = await askAll(f.peer, `!unknown:${f.home.name}`, msg);
    expect(answers).toMatchObject({ state: 404, stateAt: 404, stateIds: 404, backfill: 404, missing: 404 });
  });
});
