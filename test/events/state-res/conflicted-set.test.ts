import { EventType as T } from '../../../src/events/event-types.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { stateMapKey } from '../../../src/events/state-map.js';
import { authDifference, conflictedSubgraph } from '../../../src/events/state-res/auth-difference.js';
import { splitConflicted } from '../../../src/events/state-res/conflicted-state.js';
import { resolveState, resolveStateDetailed } from '../../../src/events/state-res/resolve-state.js';
import { MOD, OWNER, PLAIN_A } from './sim-actions.js';
import { d, HandDag, ids } from './hand-dag.js';

describe('splitConflicted', () => {
  // given: a fork at the end of genesis; the owner renames the guild on one branch, the mod
  // renames it and creates a channel on the other
  const h = new HandDag();
  const s1 = h.on(h.g, d.settings(OWNER, 'owner name'));
  const [s2, c1] = h.chain(h.g, d.settings(MOD, 'mod name'), d.channel(MOD, 'c1', 'new'));

  test('when split, then slots both states hold with the same event are unconflicted', () => {
    const { unconflicted } = splitConflicted([h.after(s1), h.after(c1)]);
    expect(unconflicted.size).toBe(h.after(h.g).size);
    for (const [k, ev] of h.after(h.g)) expect(unconflicted.get(k)?.event_id).toBe(ev.event_id);
  });

  test('then a slot with different events, or present in one state only, is conflicted', () => {
    const { conflicted, conflictedBySet } = splitConflicted([h.after(s1), h.after(c1)]);
    expect(new Set(conflicted.keys())).toEqual(new Set(ids([s1, s2, c1])));
    expect(new Set(ids(conflictedBySet[0]))).toEqual(new Set(ids([s1])));
    expect(new Set(ids(conflictedBySet[1]))).toEqual(new Set(ids([s2, c1])));
  });

  test('then swapping the inputs gives the same split', () => {
    const a = splitConflicted([h.after(s1), h.after(c1)]);
    const b = splitConflicted([h.after(c1), h.after(s1)]);
    expect(new Set(b.unconflicted.keys())).toEqual(new Set(a.unconflicted.keys()));
    expect(new Set(b.conflicted.keys())).toEqual(new Set(a.conflicted.keys()));
  });

  test('given no states, then nothing', () => {
    expect(splitConflicted([]).unconflicted.size).toBe(0);
  });
});

describe('authDifference', () => {
  test('given a promotion and its use on one branch and a rename on the other, then exactly those are the auth difference', () => {
    const h = new HandDag();
    const pJoin = h.at(T.Member, PLAIN_A);
    // branch 1: the owner makes @p:a a helper (MANAGE_ROLES at 3), who then creates role r1 at 2
    const [promote, r1] = h.chain(h.g, d.grant(OWNER, PLAIN_A, ['helper']), d.role(PLAIN_A, 'r1', 0n, 2));
    // branch 2: the owner renames the guild
    const rename = h.on(h.g, d.settings(OWNER, 'renamed'));
    const split = splitConflicted([h.after(r1), h.after(rename)]);

    const diff = authDifference(split, h.lookup);

    expect(diff).toEqual(new Set(ids([promote, r1, rename])));
    // @p:a's join is conflicted (branch 1 replaced it) but both chains hold it
    expect(split.conflicted.has(pJoin.event_id)).toBe(true);
    expect(diff.has(pJoin.event_id)).toBe(false);
  });

  test('given identical states, then the difference is empty', () => {
    const h = new HandDag();
    expect(authDifference(splitConflicted([h.after(h.g), h.after(h.g)]), h.lookup).size).toBe(0);
  });
});

describe('conflictedSubgraph (v2.1)', () => {
  // given: role r1 edited three times (R1, R2, R3) with a grant citing R2 in between, and a
  // second "stale" state that still holds R1, as a peer's partial /state answer might
  const h = new HandDag();
  const [r1, r2, grant, r3] = h.chain(
    h.g,
    d.role(OWNER, 'r1', 0n, 2),
    d.role(OWNER, 'r1', P.ADD_REACTIONS, 2),
    d.grant(OWNER, PLAIN_A, ['r1']),
    d.role(OWNER, 'r1', P.ADD_REACTIONS | P.CHANGE_NICKNAME, 2),
  );
  const fresh = h.after(r3);
  const stale = new Map(fresh).set(stateMapKey(T.Role, 'r1'), r1);

  test('when only R1 and R3 conflict, then the auth difference misses R2 (the grant puts it in both chains)', () => {
    const split = splitConflicted([fresh, stale]);
    expect(new Set(split.conflicted.keys())).toEqual(new Set(ids([r1, r3])));
    expect(grant.pdu.auth_events).toContain(r2.event_id);
    expect(authDifference(split, h.lookup).has(r2.event_id)).toBe(false);
  });

  test('then the conflicted subgraph holds R2, which lies on the auth path R3 → R2 → R1', () => {
    const split = splitConflicted([fresh, stale]);
    expect(conflictedSubgraph(split.conflicted, h.lookup)).toEqual(new Set(ids([r1, r2, r3])));
    expect(resolveStateDetailed([fresh, stale], h.lookup).fullConflicted).toContain(r2.event_id);
  });

  test('then resolution keeps the newest version, R3', () => {
    expect(resolveState([fresh, stale], h.lookup).get(stateMapKey(T.Role, 'r1'))?.event_id).toBe(r3.event_id);
    expect(resolveState([stale, fresh], h.lookup).get(stateMapKey(T.Role, 'r1'))?.event_id).toBe(r3.event_id);
  });

  test('given conflicted events with no auth path between them, then the subgraph is just them', () => {
    const h2 = new HandDag();
    const a = h2.on(h2.g, d.settings(OWNER, 'one'));
    const b = h2.on(h2.g, d.settings(OWNER, 'two'));
    const split = splitConflicted([h2.after(a), h2.after(b)]);
    expect(conflictedSubgraph(split.conflicted, h2.lookup)).toEqual(new Set(ids([a, b])));
  });
});
