import { EventType as T, type StoredEvent } from '../../../src/events/event-types.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { getMember, membershipOf, memberRoleKeys, stateMapKey, type StateMap } from '../../../src/events/state-map.js';
import { resolveState, resolveStateDetailed } from '../../../src/events/state-res/resolve-state.js';
import { stateAfterEvent, stateBeforeEvent } from '../../../src/events/state-res/state-at-event.js';
import { HELPER, HELPER_PERMS, MOD, OWNER, PLAIN_A, PLAIN_B } from './sim-actions.js';
import { fingerprint } from './sim-dag.js';
import { d, HandDag, ids } from './hand-dag.js';

const both = (h: HandDag, a: StoredEvent, b: StoredEvent): StateMap[] => [
  resolveState([h.after(a), h.after(b)], h.lookup),
  resolveState([h.after(b), h.after(a)], h.lookup),
];

describe('resolveState: trivial inputs', () => {
  const h = new HandDag();
  const s = h.after(h.g);

  test('given no states, then the empty state', () => {
    expect(resolveState([], h.lookup).size).toBe(0);
  });

  test('given one state, or the same state twice, then a copy of it', () => {
    const one = resolveState([s], h.lookup);
    expect(one).not.toBe(s);
    expect(fingerprint(one)).toBe(fingerprint(s));
    expect(fingerprint(resolveState([s, s], h.lookup))).toBe(fingerprint(s));
  });

  test('given states that agree, then nothing is conflicted or replayed', () => {
    const r = resolveStateDetailed([s, new Map(s)], h.lookup);
    expect(r.conflicted).toEqual([]);
    expect(r.powerOrder).toEqual([]);
    expect(r.mainlineOrder).toEqual([]);
  });
});

describe('resolveState: power wins over timestamps', () => {
  test('given a ban of the mod and the mod’s concurrent, back-dated self-promotion, then the mod stays banned', () => {
    const h = new HandDag();
    const ban = h.on(h.g, d.ban(OWNER, MOD), 2000);
    const selfGrant = h.on(h.g, d.grant(MOD, MOD, ['helper', 'mod']), 1000);
    for (const s of both(h, ban, selfGrant)) expect(s.get(stateMapKey(T.Member, MOD))?.event_id).toBe(ban.event_id);
    expect(resolveStateDetailed([h.after(ban), h.after(selfGrant)], h.lookup).dropped).toContain(selfGrant.event_id);
  });

  test('given a demotion of the mod and the mod’s concurrent ban of @p:a (earlier timestamp), then the ban does not land', () => {
    const h = new HandDag();
    const demote = h.on(h.g, d.grant(OWNER, MOD, []), 2000);
    const modBans = h.on(h.g, d.ban(MOD, PLAIN_A), 1000);
    for (const s of both(h, demote, modBans)) {
      expect(membershipOf(s, PLAIN_A)).toBe('join');
      expect(memberRoleKeys(getMember(s, MOD))).toEqual([]);
    }
  });

  test('given a kick and the kicked member’s concurrent nick change, then the member is out', () => {
    const h = new HandDag();
    const kick = h.on(h.g, d.leave(MOD, PLAIN_B), 2000);
    const nick = h.on(h.g, d.member(PLAIN_B, PLAIN_B, { membership: 'join', nick: 'still here' }), 3000);
    for (const s of both(h, kick, nick)) expect(s.get(stateMapKey(T.Member, PLAIN_B))?.event_id).toBe(kick.event_id);
  });

  test('given concurrent edits of one role by the owner and by the mod (who may edit it), then the owner’s is replayed first and the mod’s, still allowed, holds the slot', () => {
    // As in Matrix: the more powerful event is applied earlier, so a weaker concurrent
    // change that is still allowed afterwards is the one left in the slot.
    const h = new HandDag();
    const byOwner = h.on(h.g, d.role(OWNER, 'helper', HELPER_PERMS | P.MANAGE_GUILD, 3), 5000);
    const byMod = h.on(h.g, d.role(MOD, 'helper', HELPER_PERMS | P.MANAGE_NICKNAMES, 3), 1000);
    const r = resolveStateDetailed([h.after(byOwner), h.after(byMod)], h.lookup);
    expect(r.powerOrder.filter((id) => id === byOwner.event_id || id === byMod.event_id)).toEqual(ids([byOwner, byMod]));
    for (const s of both(h, byOwner, byMod)) expect(s.get(stateMapKey(T.Role, 'helper'))?.event_id).toBe(byMod.event_id);
  });

  test('given the same edits where the mod’s edit would sit on a role the owner moved above it, then the owner’s wins', () => {
    const h = new HandDag();
    const lift = h.on(h.g, d.role(OWNER, 'helper', HELPER_PERMS, 6), 5000);
    const byMod = h.on(h.g, d.role(MOD, 'helper', HELPER_PERMS | P.MANAGE_NICKNAMES, 3), 1000);
    for (const s of both(h, lift, byMod)) expect(s.get(stateMapKey(T.Role, 'helper'))?.event_id).toBe(lift.event_id);
  });
});

describe('resolveState: three branches and odd input', () => {
  test('given three branches, then every order of the three states gives one result', () => {
    const h = new HandDag();
    const a = h.on(h.g, d.leave(HELPER, PLAIN_A)); // a kick
    const b = h.on(h.g, d.grant(MOD, PLAIN_A, ['helper']));
    const c = h.on(h.g, d.settings(OWNER, 'three'));
    const [x, y, z] = [h.after(a), h.after(b), h.after(c)];
    const results = [
      [x, y, z],
      [x, z, y],
      [y, x, z],
      [y, z, x],
      [z, x, y],
      [z, y, x],
    ].map((sets) => fingerprint(resolveState(sets, h.lookup)));
    expect(new Set(results).size).toBe(1);
  });

  test('given a state holding an event of another room, then that event is ignored', () => {
    const h = new HandDag();
    const rename = h.on(h.g, d.settings(OWNER, 'mine'));
    const foreign: StoredEvent = {
      event_id: '$foreign',
      pdu: { ...rename.pdu, room_id: '!other:a', state_key: 'c9', type: T.Channel, content: { name: 'x', kind: 0, position: 0 } },
    };
    const polluted = new Map(h.after(rename)).set(stateMapKey(T.Channel, 'c9'), foreign);
    const s = resolveState([h.after(h.g), polluted], h.lookup);
    expect(s.has(stateMapKey(T.Channel, 'c9'))).toBe(false);
    expect(s.get(stateMapKey(T.Settings, ''))?.event_id).toBe(rename.event_id);
  });
});

describe('stateBeforeEvent / stateAfterEvent', () => {
  const h = new HandDag();
  const getAfter = (id: string) => h.dag.after.get(id);
  const a = h.on(h.g, d.settings(OWNER, 'left'));
  const b = h.on(h.g, d.ban(MOD, PLAIN_A));
  const merge = h.on([a.event_id, b.event_id], d.message(OWNER));

  test('given the create event, then the state before it is empty', () => {
    expect(stateBeforeEvent(h.at(T.Create, ''), getAfter, h.lookup)?.size).toBe(0);
  });

  test('given one prev_event, then the state after it', () => {
    expect(stateBeforeEvent(a, getAfter, h.lookup)).toBe(h.after(h.g));
  });

  test('given a merge, then the resolution of the states after its prev_events', () => {
    const before = stateBeforeEvent(merge, getAfter, h.lookup) as StateMap;
    expect(fingerprint(before)).toBe(fingerprint(resolveState([h.after(a), h.after(b)], h.lookup)));
    expect(before.get(stateMapKey(T.Settings, ''))?.event_id).toBe(a.event_id);
    expect(membershipOf(before, PLAIN_A)).toBe('ban');
  });

  test('given a prev_event whose state is unknown, then undefined', () => {
    expect(stateBeforeEvent(merge, (id) => (id === a.event_id ? undefined : getAfter(id)), h.lookup)).toBeUndefined();
  });

  test('given an allowed state event, then the state after holds it; given a message or a refused event, then the state is unchanged', () => {
    const before = h.after(h.g);
    expect(stateAfterEvent(a, before).get(stateMapKey(T.Settings, ''))?.event_id).toBe(a.event_id);
    expect(stateAfterEvent(merge, before)).toBe(before);
    const banned = h.after(b);
    const byBanned = { ...a, event_id: '$by-banned', pdu: { ...a.pdu, sender: PLAIN_A, origin: 'a' } };
    expect(stateAfterEvent(byBanned, banned)).toBe(banned);
  });

  test('given a lookup, then an event its own auth events do not allow is refused too', () => {
    // the mod's ban of @p:a with the role events cut from its auth events: the state
    // before it allows it, but its own auth state (where the mod holds no role) does not
    const before = h.after(h.g);
    expect(stateAfterEvent(b, before, h.lookup).get(stateMapKey(T.Member, PLAIN_A))?.event_id).toBe(b.event_id);
    const lying = { ...b, pdu: { ...b.pdu, auth_events: b.pdu.auth_events.filter((id) => h.dag.get(id).pdu.type !== T.Role) } };
    expect(stateAfterEvent(lying, before)).not.toBe(before);
    expect(stateAfterEvent(lying, before, h.lookup)).toBe(before);
  });
});
