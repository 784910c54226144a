// The read-access rule (spec/federation.md, "Read access") over hand-built states.
import { EventType, type Pdu, type StoredEvent } from '../../../src/events/event-types.js';
import { stateFromEvents } from '../../../src/events/state-map.js';
import { isAccountRoom, memoized, originHasMember, roomAccess } from '../../../src/federation/read-endpoints/access.js';

const ROOM = '!guild:home.test';
let n = 0;
function state(type: string, stateKey: string, content: Record<string, unknown>, room = ROOM): StoredEvent {
  const pdu: Pdu = { room_id: room, type, state_key: stateKey, sender: '@owner:home.test', origin: 'home.test', origin_server_ts: 0, depth: ++n, prev_events: [], auth_events: [], content, hashes: { sha256: '' }, signatures: {} };
  return { event_id: `$e${n}`, pdu };
}
const create = (kind = 'guild', room = ROOM) => state(EventType.Create, '', { creator: '@owner:home.test', room_version: '1', kind }, room);
const member = (user: string, membership: string, room = ROOM) => state(EventType.Member, user, { membership }, room);

function deps(current: Map<string, StoredEvent> | undefined, after: Record<string, Map<string, StoredEvent>> = {}) {
  const asked: string[] = [];
  return {
    asked,
    currentState: async () => current,
    stateAfter: async (id: string) => {
      asked.push(id);
      return after[id];
    },
  };
}

describe('originHasMember', () => {
  it('counts join and invite of a user of exactly that server', () => {
    const s = stateFromEvents([create(), member('@a:peer.test', 'invite'), member('@b:other.test', 'join'), member('@c:peer.test:8448', 'join')]);
    expect(originHasMember(s, 'peer.test')).toBe(true);
    expect(originHasMember(s, 'other.test')).toBe(true);
    expect(originHasMember(s, 'peer.test:8448')).toBe(true);
    expect(originHasMember(s, 'test')).toBe(false);
    const gone = stateFromEvents([create(), member('@a:peer.test', 'leave'), member('@b:peer.test', 'ban')]);
    expect(originHasMember(gone, 'peer.test')).toBe(false);
  });
});

describe('roomAccess', () => {
  it('an unknown room is not found', async () => {
    expect(await roomAccess(deps(undefined), ROOM, 'peer.test')).toEqual({ ok: false, reason: 'not_found' });
    // A state with no create event (what a projection answers for a room it never saw).
    expect(await roomAccess(deps(new Map()), ROOM, 'peer.test')).toEqual({ ok: false, reason: 'not_found' });
  });

  it('a server with a joined or invited user may read; one without is forbidden', async () => {
    const s = stateFromEvents([create(), member('@owner:home.test', 'join'), member('@a:peer.test', 'invite')]);
    expect(await roomAccess(deps(s), ROOM, 'peer.test')).toEqual({ ok: true, current: s });
    expect(await roomAccess(deps(s), ROOM, 'stranger.test')).toEqual({ ok: false, reason: 'forbidden' });
  });

  it('anyone may read a discoverable guild', async () => {
    const s = stateFromEvents([create(), state(EventType.Settings, '', { name: 'Open', discoverable: true })]);
    expect((await roomAccess(deps(s), ROOM, 'stranger.test')).ok).toBe(true);
    const closed = stateFromEvents([create(), state(EventType.Settings, '', { name: 'Closed', discoverable: false })]);
    expect((await roomAccess(deps(closed), ROOM, 'stranger.test')).ok).toBe(false);
  });

  it("the guild's server ACL is obeyed before membership and discoverability", async () => {
    const s = stateFromEvents([
      create(),
      member('@a:peer.test', 'join'),
      state(EventType.Settings, '', { name: 'Open', discoverable: true }),
      state(EventType.ServerAcl, '', { allow: ['*'], deny: ['peer.test'] }),
    ]);
    expect(await roomAccess(deps(s), ROOM, 'peer.test')).toEqual({ ok: false, reason: 'forbidden' });
    expect((await roomAccess(deps(s), ROOM, 'other.test')).ok).toBe(true);
  });

  it('a server that had a member at a named event of the room may read', async () => {
    const joined = member('@a:peer.test', 'join');
    const then = stateFromEvents([create(), joined]);
    const now = stateFromEvents([create(), joined, member('@a:peer.test', 'leave')]);
    const d = deps(now, { [joined.event_id]: then });
    expect((await roomAccess(d, ROOM, 'peer.test')).ok).toBe(false);
    expect(await roomAccess(d, ROOM, 'peer.test', [joined])).toEqual({ ok: true, current: now });
    // An event of another room grants nothing, and its state is not even asked for.
    const elsewhere = member('@a:peer.test', 'join', '!other:home.test');
    const d2 = deps(now, { [elsewhere.event_id]: then });
    expect(await roomAccess(d2, ROOM, 'peer.test', [elsewhere])).toEqual({ ok: false, reason: 'forbidden' });
    expect(d2.asked).toEqual([]);
  });

  it('an account room is never served, whoever asks (not found, like an unknown room)', async () => {
    const acct = '!acct_abcdefghijklmnopqrstuv:home.test';
    const s = stateFromEvents([create('account', acct), member('@a:peer.test', 'join', acct), state(EventType.Settings, '', { name: 'x', discoverable: true }, acct)]);
    expect(isAccountRoom(acct, s)).toBe(true);
    expect(await roomAccess(deps(s), acct, 'peer.test')).toEqual({ ok: false, reason: 'not_found' });
    // Known by its create event whatever its id.
    const s2 = stateFromEvents([create('account'), member('@a:peer.test', 'join')]);
    expect(await roomAccess(deps(s2), ROOM, 'peer.test')).toEqual({ ok: false, reason: 'not_found' });
  });
});

describe('memoized', () => {
  it('asks once per key', async () => {
    let calls = 0;
    const fn = memoized(async (k: string) => {
      calls++;
      return k === 'x' ? new Map() : undefined;
    });
    await Promise.all([fn('x'), fn('x'), fn('y')]);
    expect(calls).toBe(2);
  });
});
