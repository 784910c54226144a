// The five read endpoints over real HTTP, on each database backend: what they answer, their
// limits and their 400s. A guild with a linear history: 5 creation events, bob (of the
// peer server) invited and joined, then 12 messages m0..m11.
import { computeEventId } from '../../../src/events/event-id.js';
import type { Pdu, StoredEvent } from '../../../src/events/event-types.js';
import { byDepthThenId, citedIds } from '../../../src/federation/read-endpoints/dag-walk.js';
import { testDatabaseOptions } from '../../helpers/databases.js';
import { enc, P, startReadFixture, type ReadFixture } from './read-fixture.js';

describe.each(testDatabaseOptions())('federation read endpoints on $name', ({ options }) => {
  let f: ReadFixture;
  let roomId: string;
  let log: StoredEvent[]; // the guild's events in order
  let m: StoredEvent[]; // the messages
  let invite: StoredEvent;
  let otherRoom: StoredEvent[];

  beforeAll(async () => {
    f = await startReadFixture(options);
    const created = await f.homeGuilds.createGuild(f.alice, { name: 'Hall' });
    roomId = created.roomId;
    const channel = created.events[4].pdu.state_key!;
    invite = await f.invite(roomId, f.bob);
    await f.peerGuilds.join(roomId, f.bob);
    for (let i = 0; i < 12; i++) await f.homeGuilds.sendMessage(roomId, f.alice, { channel, body: `m${i}` });
    log = await f.logOf(roomId);
    m = log.slice(7);
    const other = await f.homeGuilds.createGuild(f.alice, { name: 'Other' });
    await f.invite(other.roomId, f.bob);
    otherRoom = await f.logOf(other.roomId);
  });
  afterAll(() => f.close());

  const ids = (pdus: Pdu[]) => pdus.map((p) => computeEventId(p));
  const idsOf = (events: StoredEvent[]) => events.map((e) => e.event_id);

  describe('GET event/{eventId}', () => {
    it('answers the event exactly as logged, without an event_id', async () => {
      const res = await f.get(f.peer, `${P}/event/${enc(m[3].event_id)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ origin: f.home.name, origin_server_ts: f.clock.now(), pdus: [m[3].pdu] });
      const row = await f.opened.db.selectFrom('events').select('pdu').where('event_id', '=', m[3].event_id).executeTakeFirstOrThrow();
      expect(JSON.stringify(res.body.pdus[0])).toBe(row.pdu);
      expect(res.body.pdus[0]).not.toHaveProperty('event_id');
      expect(computeEventId(res.body.pdus[0])).toBe(m[3].event_id);
    });

    it('404 for an unknown event, 400 for something that is not an event id', async () => {
      expect(await f.get(f.peer, `${P}/event/${enc('$' + 'A'.repeat(43))}`)).toEqual({ status: 404, errcode: 'N_NOT_FOUND' });
      expect(await f.get(f.peer, `${P}/event/nope`)).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
    });
  });

  describe('GET state/{roomId} and state_ids/{roomId}', () => {
    it('without event_id: the current state, by depth, with its auth chain', async () => {
      const res = await f.get(f.peer, `${P}/state/${enc(roomId)}`);
      expect(res.status).toBe(200);
      const state = log.slice(0, 7).filter((e) => e.event_id !== invite.event_id); // bob's join replaced his invite
      expect(ids(res.body.pdus)).toEqual(idsOf([...state].sort(byDepthThenId)));
      // The invite left the state but is in the auth chain (bob's join cites it).
      expect(ids(res.body.auth_chain)).toEqual([invite.event_id]);
    });

    it('the auth chain is closed under auth_events, disjoint from the state, and sorted', async () => {
      const res = await f.get(f.peer, `${P}/state/${enc(roomId)}?event_id=${enc(m[0].event_id)}`);
      const pdus: Pdu[] = res.body.pdus;
      const chain: Pdu[] = res.body.auth_chain;
      const all = new Set([...ids(pdus), ...ids(chain)]);
      for (const p of [...pdus, ...chain]) for (const a of citedIds(p.auth_events)) expect(all.has(a)).toBe(true);
      expect(ids(chain).filter((id) => ids(pdus).includes(id))).toEqual([]);
      const asEvents = chain.map((pdu) => ({ event_id: computeEventId(pdu), pdu }));
      expect(asEvents).toEqual([...asEvents].sort(byDepthThenId));
    });

    it('with event_id: the state after that event', async () => {
      const beforeBob = log[4]; // the channel: the last creation event
      const res = await f.get(f.peer, `${P}/state/${enc(roomId)}?event_id=${enc(beforeBob.event_id)}`);
      expect(res.status).toBe(200);
      expect(ids(res.body.pdus)).toEqual(idsOf(log.slice(0, 5)));
      expect(res.body.auth_chain).toEqual([]);
      const atInvite = await f.get(f.peer, `${P}/state/${enc(roomId)}?event_id=${enc(invite.event_id)}`);
      expect(ids(atInvite.body.pdus)).toContain(invite.event_id);
    });

    it('state_ids answers the same sets as ids', async () => {
      for (const q of ['', `?event_id=${enc(m[5].event_id)}`, `?event_id=${enc(log[3].event_id)}`]) {
        const full = await f.get(f.peer, `${P}/state/${enc(roomId)}${q}`);
        const idsOnly = await f.get(f.peer, `${P}/state_ids/${enc(roomId)}${q}`);
        expect(idsOnly).toEqual({ status: 200, body: { pdu_ids: ids(full.body.pdus), auth_chain_ids: ids(full.body.auth_chain) } });
      }
    });

    it('404 for an unknown room, an unknown event, or an event of another room; 400 for bad parameters', async () => {
      for (const path of ['state', 'state_ids']) {
        expect(await f.get(f.peer, `${P}/${path}/${enc('!nope:' + f.home.name)}`)).toEqual({ status: 404, errcode: 'N_NOT_FOUND' });
        expect(await f.get(f.peer, `${P}/${path}/${enc(roomId)}?event_id=${enc('$' + 'B'.repeat(43))}`)).toEqual({ status: 404, errcode: 'N_NOT_FOUND' });
        expect(await f.get(f.peer, `${P}/${path}/${enc(roomId)}?event_id=${enc(otherRoom[0].event_id)}`)).toEqual({ status: 404, errcode: 'N_NOT_FOUND' });
        expect(await f.get(f.peer, `${P}/${path}/${enc(roomId)}?event_id=x`)).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
        const twice = `event_id=${enc(m[0].event_id)}&event_id=${enc(m[1].event_id)}`;
        expect(await f.get(f.peer, `${P}/${path}/${enc(roomId)}?${twice}`)).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
        expect(await f.get(f.peer, `${P}/${path}/not-a-room`)).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
      }
    });
  });

  describe('GET backfill/{roomId}', () => {
    const backfill = (q: string) => f.get(f.peer, `${P}/backfill/${enc(roomId)}?${q}`);

    it('walks back from v (inclusive), newest first, at most limit', async () => {
      const res = await backfill(`v=${enc(m[11].event_id)}&limit=3`);
      expect(res.status).toBe(200);
      expect(res.body.origin).toBe(f.home.name);
      expect(res.body.origin_server_ts).toBe(f.clock.now());
      expect(res.body.pdus).toEqual([m[11].pdu, m[10].pdu, m[9].pdu]);
    });

    it('by default up to 50 events: here the whole history, back to the create event', async () => {
      const res = await backfill(`v=${enc(m[11].event_id)}`);
      expect(ids(res.body.pdus)).toEqual(idsOf(log).reverse());
    });

    it('from several v, each event once; unknown v and v of other rooms are ignored', async () => {
      const res = await backfill(`v=${enc(m[3].event_id)}&v=${enc(m[5].event_id)}&v=${enc('$' + 'C'.repeat(43))}&limit=4`);
      expect(ids(res.body.pdus)).toEqual(idsOf([m[5], m[4], m[3], m[2]]));
      expect(await backfill(`v=${enc(otherRoom[1].event_id)}`)).toEqual({ status: 200, body: { origin: f.home.name, origin_server_ts: f.clock.now(), pdus: [] } });
    });

    it('reads a linear history in a few batched queries, not one per event', async () => {
      f.queries.count = 0;
      const res = await backfill(`v=${enc(m[11].event_id)}&limit=${log.length}`);
      expect(res.body.pdus).toHaveLength(log.length);
      expect(f.queries.count).toBeLessThanOrEqual(3);
    });

    it('400 without v, with a bad v or too many, or a limit outside 1..100', async () => {
      const v = `v=${enc(m[1].event_id)}`;
      expect(await backfill('limit=5')).toEqual({ status: 400, errcode: 'N_MISSING_PARAM' });
      expect(await backfill('v=nope')).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
      expect(await backfill(Array.from({ length: 101 }, () => v).join('&'))).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
      for (const limit of ['0', '101', 'x', '1.5', '', '-1']) {
        expect(await backfill(`${v}&limit=${limit}`)).toEqual({ status: 400, errcode: 'N_INVALID_PARAM' });
      }
      expect(await backfill(`${v}&limit=100`)).toMatchObject({ status: 200 });
    });
  });

  describe('POST get_missing_events/{roomId}', () => {
    const missing = (body: unknown) => f.post(f.peer, `${P}/get_missing_events/${enc(roomId)}`, body);

    it('walks back from latest (exclusive) to earliest (exclusive), oldest first', async () => {
      const res = await missing({ earliest_events: [m[2].event_id], latest_events: [m[8].event_id] });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ events: [m[3], m[4], m[5], m[6], m[7]].map((e) => e.pdu) });
    });

    it('keeps the events closest to latest within limit (default 10)', async () => {
      const two = await missing({ earliest_events: [m[2].event_id], latest_events: [m[8].event_id], limit: 2 });
      expect(ids(two.body.events)).toEqual(idsOf([m[6], m[7]]));
      const dflt = await missing({ earliest_events: [], latest_events: [m[11].event_id] });
      expect(ids(dflt.body.events)).toEqual(idsOf(log.slice(-11, -1)));
    });

    it('stops at min_depth', async () => {
      const res = await missing({ earliest_events: [], latest_events: [m[8].event_id], min_depth: m[5].pdu.depth });
      expect(ids(res.body.events)).toEqual(idsOf([m[5], m[6], m[7]]));
    });

    it('answers nothing for latest events it does not hold', async () => {
      expect(await missing({ earliest_events: [], latest_events: [otherRoom[1].event_id] })).toEqual({ status: 200, body: { events: [] } });
    });

    it('400 for a missing or malformed body', async () => {
      const ok = { earliest_events: [], latest_events: [m[4].event_id] };
      const bad: Array<[unknown, string]> = [
        [{}, 'N_BAD_JSON'],
        [{ latest_events: [m[4].event_id] }, 'N_BAD_JSON'],
        [{ ...ok, earliest_events: 'x' }, 'N_BAD_JSON'],
        [{ ...ok, latest_events: ['not-an-id'] }, 'N_BAD_JSON'],
        [{ ...ok, latest_events: [] }, 'N_INVALID_PARAM'],
        [{ ...ok, earliest_events: Array.from({ length: 101 }, () => m[0].event_id) }, 'N_INVALID_PARAM'],
        [{ ...ok, limit: 0 }, 'N_INVALID_PARAM'],
        [{ ...ok, limit: 101 }, 'N_INVALID_PARAM'],
        [{ ...ok, limit: '5' }, 'N_INVALID_PARAM'],
        [{ ...ok, min_depth: -1 }, 'N_INVALID_PARAM'],
        [{ ...ok, min_depth: 1.5 }, 'N_INVALID_PARAM'],
      ];
      for (const [body, errcode] of bad) expect([body, await missing(body)]).toEqual([body, { status: 400, errcode }]);
      // No body at all.
      const none = await f.peer.client.request(f.home.name, 'POST', `${P}/get_missing_events/${enc(roomId)}`).catch((e) => e);
      expect(none).toMatchObject({ status: 400, errcode: 'N_BAD_JSON' });
      expect(await missing({ ...ok, limit: 100, min_depth: 0, extra: true })).toMatchObject({ status: 200 });
    });
  });
});
