import { EventType as T, type StoredEvent } from '../../../src/events/event-types.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { stateMapKey } from '../../../src/events/state-map.js';
import { allowedOnPartialState, iterativeAuthChecks, LayeredState } from '../../../src/events/state-res/iterative-auth.js';
import { MOD, OWNER, PLAIN_A, PLAIN_B } from './sim-actions.js';
import { d, HandDag, ids } from './hand-dag.js';

const fake = (id: string) => ({ event_id: id }) as StoredEvent;

describe('LayeredState', () => {
  const top = new Map([
    ['k1', fake('$top1')],
    ['k2', fake('$top2')],
  ]);
  const bottom = new Map([
    ['k2', fake('$bottom2')],
    ['k3', fake('$bottom3')],
  ]);
  const view = new LayeredState(top, bottom);

  test('given a slot in both layers, then the top one is read', () => {
    expect(view.get('k2')?.event_id).toBe('$top2');
  });

  test('given a slot only below, then it fills the gap', () => {
    expect(view.get('k3')?.event_id).toBe('$bottom3');
    expect(view.has('k3')).toBe(true);
    expect(view.has('k4')).toBe(false);
  });

  test('then size and iteration see the union once', () => {
    expect(view.size).toBe(3);
    expect(new Map(view)).toEqual(new Map([['k1', top.get('k1')], ['k2', top.get('k2')], ['k3', bottom.get('k3')]]));
    expect([...view.keys()].sort()).toEqual(['k1', 'k2', 'k3']);
  });
});

describe('allowedOnPartialState', () => {
  test('given an empty partial state, then the event is judged by its own auth events', () => {
    const h = new HandDag();
    const ban = h.on(h.g, d.ban(MOD, PLAIN_A));
    expect(allowedOnPartialState(ban, new Map(), h.lookup)).toBe(true);
  });

  test('given the partial state bans the sender, then that wins over the sender’s own auth events', () => {
    const h = new HandDag();
    const banMod = h.on(h.g, d.ban(OWNER, MOD));
    const modBans = h.on(h.g, d.ban(MOD, PLAIN_A));
    const partial = new Map([[stateMapKey(T.Member, MOD), banMod]]);
    expect(allowedOnPartialState(modBans, partial, h.lookup)).toBe(false);
  });

  test('given an auth event the resolution refused, then it does not fill a gap', () => {
    // the mod opens #general's MANAGE_CHANNELS to @everyone (O), then renames it (C);
    // concurrently the owner takes the mod role away (D)
    const h = new HandDag();
    const [open, rename] = h.chain(h.g, d.overwrite(MOD, 'general', 'everyone', P.MANAGE_CHANNELS), d.channel(MOD, 'general', 'mine'));
    const demote = h.on(h.g, d.grant(OWNER, MOD, []));
    const partial = new Map([[stateMapKey(T.Member, MOD), demote]]);
    expect(rename.pdu.auth_events).toContain(open.event_id);
    // O has no slot in the partial state: read from C's auth events it would let C through
    expect(allowedOnPartialState(rename, partial, h.lookup)).toBe(true);
    // once the replay has refused O, it no longer counts
    expect(allowedOnPartialState(open, partial, h.lookup)).toBe(false);
    expect(allowedOnPartialState(rename, partial, h.lookup, new Set([open.event_id]))).toBe(false);
  });
});

describe('iterativeAuthChecks', () => {
  test('given sorted events, then each allowed one is applied in turn and each refused one dropped and remembered', () => {
    const h = new HandDag();
    const banMod = h.on(h.g, d.ban(OWNER, MOD));
    const modBansA = h.on(h.g, d.ban(MOD, PLAIN_A));
    const ownerKicksB = h.on(h.g, d.leave(OWNER, PLAIN_B));
    const state = new Map();
    const rejected = new Set<string>();

    const dropped = iterativeAuthChecks(state, [banMod, modBansA, ownerKicksB], h.lookup, rejected);

    expect(dropped).toEqual(ids([modBansA]));
    expect(rejected).toEqual(new Set(ids([modBansA])));
    expect(state.get(stateMapKey(T.Member, MOD))?.event_id).toBe(banMod.event_id);
    expect(state.get(stateMapKey(T.Member, PLAIN_B))?.event_id).toBe(ownerKicksB.event_id);
    expect(state.has(stateMapKey(T.Member, PLAIN_A))).toBe(false);
  });

  test('given the other order, then the mod’s ban goes through first and both land', () => {
    const h = new HandDag();
    const banMod = h.on(h.g, d.ban(OWNER, MOD));
    const modBansA = h.on(h.g, d.ban(MOD, PLAIN_A));
    const state = new Map();
    expect(iterativeAuthChecks(state, [modBansA, banMod], h.lookup)).toEqual([]);
    expect(state.size).toBe(2);
  });
});
