// The DAG walks of the read endpoints over an in-memory DAG: the order they take events
// in, where they stop, and that they load whole levels at once.
import type { Pdu, StoredEvent } from '../../../src/events/event-types.js';
import { walkAuthChain } from '../../../src/federation/read-endpoints/auth-chain-loader.js';
import { byDepthThenId, walkBackfill, walkMissingEvents } from '../../../src/federation/read-endpoints/dag-walk.js';
import type { EventLoader } from '../../../src/federation/read-endpoints/event-queries.js';

function ev(id: string, depth: number, prev: string[], auth: string[] = []): StoredEvent {
  const pdu = { room_id: '!r:x', type: 'nexus.message', sender: '@a:x', origin: 'x', origin_server_ts: 0, depth, prev_events: prev, auth_events: auth, content: {}, hashes: { sha256: '' }, signatures: {} } satisfies Pdu;
  return { event_id: id, pdu };
}

/** A loader over `events` that records every batch it is asked for. */
function loaderOf(events: StoredEvent[]): EventLoader & { calls: string[][] } {
  const byId = new Map(events.map((e) => [e.event_id, e]));
  const calls: string[][] = [];
  const load = async (ids: readonly string[]) => {
    calls.push([...ids]);
    return new Map(ids.filter((id) => byId.has(id)).map((id) => [id, byId.get(id)!]));
  };
  return Object.assign(load, { calls });
}

const ids = (events: StoredEvent[]) => events.map((e) => e.event_id);

//        c(1)
//       /    \
//    a1(2)   b1(2)
//      |       |
//    a2(3)   b2(3)
//      |    /
//    a3(4) /
//       \ /
//       m(5)
const dag = [ev('c', 1, []), ev('a1', 2, ['c']), ev('b1', 2, ['c']), ev('a2', 3, ['a1']), ev('b2', 3, ['b1']), ev('a3', 4, ['a2']), ev('m', 5, ['a3', 'b2'])];

describe('byDepthThenId', () => {
  it('orders by depth, then by id as a tie-break', () => {
    expect(ids([ev('b', 2, []), ev('z', 1, []), ev('a', 2, [])].sort(byDepthThenId))).toEqual(['z', 'a', 'b']);
  });
});

describe('walkBackfill', () => {
  it('takes the from events and their ancestors, newest first, at most limit', async () => {
    expect(ids(await walkBackfill(loaderOf(dag), ['m'], 4))).toEqual(['m', 'a3', 'b2', 'a2']);
    expect(ids(await walkBackfill(loaderOf(dag), ['m'], 100))).toEqual(['m', 'a3', 'b2', 'a2', 'b1', 'a1', 'c']);
  });

  it('starts from several events, ignores unknown ones, and never takes an event twice', async () => {
    expect(ids(await walkBackfill(loaderOf(dag), ['a2', 'b1', '$unknown'], 10))).toEqual(['a2', 'b1', 'a1', 'c']);
    expect(await walkBackfill(loaderOf(dag), ['$unknown'], 10)).toEqual([]);
  });

  it('is a priority walk: an event is only taken once a child of it was', async () => {
    // x has a depth larger than its child's (invalid, but a walk must still be defined).
    const odd = [ev('c', 1, []), ev('x', 9, ['c']), ev('y', 2, ['x']), ev('z', 3, ['y'])];
    expect(ids(await walkBackfill(loaderOf(odd), ['z'], 10))).toEqual(['z', 'y', 'x', 'c']);
  });
});

describe('walkMissingEvents', () => {
  const q = { earliest: [] as string[], latest: ['m'], limit: 10, minDepth: 0 };

  it('returns the events before latest (exclusive), oldest first', async () => {
    expect(ids(await walkMissingEvents(loaderOf(dag), q))).toEqual(['c', 'a1', 'b1', 'a2', 'b2', 'a3']);
  });

  it('neither returns nor crosses an earliest event', async () => {
    expect(ids(await walkMissingEvents(loaderOf(dag), { ...q, earliest: ['a2', 'b1'] }))).toEqual(['b2', 'a3']);
  });

  it('stops below min_depth', async () => {
    expect(ids(await walkMissingEvents(loaderOf(dag), { ...q, minDepth: 3 }))).toEqual(['a2', 'b2', 'a3']);
  });

  it('within the limit, takes the events closest to latest', async () => {
    expect(ids(await walkMissingEvents(loaderOf(dag), { ...q, limit: 3 }))).toEqual(['a2', 'b2', 'a3']);
    expect(ids(await walkMissingEvents(loaderOf(dag), { ...q, limit: 1 }))).toEqual(['a3']);
  });

  it('never returns a latest event, even one that is an ancestor of another', async () => {
    expect(ids(await walkMissingEvents(loaderOf(dag), { ...q, latest: ['m', 'a2'] }))).toEqual(['c', 'a1', 'b1', 'b2', 'a3']);
  });

  it('loads each level of the walk in one batch', async () => {
    const load = loaderOf(dag);
    await walkMissingEvents(load, q);
    expect(load.calls).toEqual([['m'], ['a3', 'b2'], ['a2', 'b1'], ['a1', 'c']]);
  });
});

describe('walkAuthChain', () => {
  const chainDag = [
    ev('create', 1, [], []),
    ev('alice', 2, ['create'], ['create']),
    ev('role', 3, ['alice'], ['alice', 'create']),
    ev('bob-invite', 4, ['role'], ['alice', 'create', 'role']),
    ev('bob-join', 5, ['bob-invite'], ['bob-invite', 'create', 'role', '$not-held']),
  ];

  it('is everything reachable through auth_events, minus the given events, by depth', async () => {
    const state = [chainDag[0], chainDag[2], chainDag[4]]; // create, role, bob's join
    expect(ids(await walkAuthChain(loaderOf(chainDag), state))).toEqual(['alice', 'bob-invite']);
  });

  it('loads one batch per level, skipping ids it has seen', async () => {
    const load = loaderOf(chainDag);
    await walkAuthChain(load, [chainDag[4]]);
    expect(load.calls).toEqual([['bob-invite', 'create', 'role', '$not-held'], ['alice']]);
  });
});
