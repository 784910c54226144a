import { EventType as T } from '../../../src/events/event-types.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { stateMapKey } from '../../../src/events/state-map.js';
import { mainlineOrder, mainlinePositions, roleEventsOf, roleMainline } from '../../../src/events/state-res/mainline-ordering.js';
import { resolveState, resolveStateDetailed } from '../../../src/events/state-res/resolve-state.js';
import { HELPER, HELPER_PERMS, OWNER } from './sim-actions.js';
import { d, HandDag, ids } from './hand-dag.js';

// given: at the fork, the owner edits the helper role differently on two branches (H1 at
// ts 10, H2 at ts 20), and the helper edits #general under each version (e1, e2) and
// under the original version H0 on a third branch (e0)
function fork() {
  const h = new HandDag();
  const h0 = h.at(T.Role, 'helper');
  const h1 = h.on(h.g, d.role(OWNER, 'helper', HELPER_PERMS | P.MANAGE_NICKNAMES, 3), 10);
  const h2 = h.on(h.g, d.role(OWNER, 'helper', HELPER_PERMS | P.MANAGE_GUILD, 3), 20);
  const e1 = h.on(h1.event_id, d.channel(HELPER, 'general', 'under H1'), 300);
  const e2 = h.on(h2.event_id, d.channel(HELPER, 'general', 'under H2'), 50);
  const e0 = h.on(h.g, d.channel(HELPER, 'general', 'under H0'), 200);
  return { h, h0, h1, h2, e0, e1, e2 };
}

describe('roleMainline', () => {
  test('given H1 as the resolved helper role, then the mainline holds it and its role ancestors, not the losing H2', () => {
    const { h, h0, h1, h2 } = fork();
    const mainline = roleMainline(roleEventsOf(h.after(h1)), h.lookup);
    expect(mainline.has(h1.event_id)).toBe(true);
    expect(mainline.has(h0.event_id)).toBe(true);
    expect(mainline.has(h.at(T.Role, 'everyone').event_id)).toBe(true);
    expect(mainline.has(h2.event_id)).toBe(false);
    for (const id of mainline) expect(h.dag.get(id).pdu.type).toBe(T.Role);
  });
});

describe('mainlinePositions', () => {
  test('then each event sits at the depth of the deepest mainline role in its auth chain; an event under a losing role sits at that role’s base', () => {
    const { h, h1, e0, e1, e2 } = fork();
    const mainline = roleMainline(roleEventsOf(h.after(h1)), h.lookup);
    const pos = mainlinePositions([e0, e1, e2], mainline, h.lookup);
    // @everyone is depth 1; the genesis helper role (citing @everyone) 2; H1 (citing it) 3
    expect(pos.get(e0.event_id)).toBe(2);
    expect(pos.get(e1.event_id)).toBe(3);
    expect(pos.get(e2.event_id)).toBe(2);
  });

  test('given an event citing no role at all (the owner’s join), then position 0', () => {
    const { h } = fork();
    const ownerJoin = h.dag.get(h.dag.order[1]);
    expect(mainlinePositions([ownerJoin], new Set(), h.lookup).get(ownerJoin.event_id)).toBe(0);
  });
});

describe('mainlineOrder', () => {
  test('given H1 won, when ordering the three edits, then by position (e1, under H1, last), then timestamp (e2 at 50 before e0 at 200)', () => {
    const { h, h1, e0, e1, e2 } = fork();
    expect(ids(mainlineOrder([e1, e2, e0], roleEventsOf(h.after(h1)), h.lookup))).toEqual(ids([e2, e0, e1]));
  });

  test('given equal positions and timestamps, then the smaller event id first', () => {
    const h = new HandDag();
    const a = h.on(h.g, d.channel(HELPER, 'general', 'aa'), 500);
    const b = h.on(h.g, d.channel(HELPER, 'general', 'bb'), 500);
    const [first, second] = a.event_id < b.event_id ? [a, b] : [b, a];
    expect(ids(mainlineOrder([second, first], roleEventsOf(h.after(h.g)), h.lookup))).toEqual(ids([first, second]));
  });
});

describe('mainline ordering inside resolution', () => {
  test('given all three branches, when resolved, then H2 (same power, later timestamp) wins the role, and the edit written under it wins #general though it is the earliest', () => {
    const { h, h2, e0, e1, e2 } = fork();
    const sets = [h.after(e0), h.after(e1), h.after(e2)];
    const r = resolveStateDetailed(sets, h.lookup);
    expect(r.state.get(stateMapKey(T.Role, 'helper'))?.event_id).toBe(h2.event_id);
    // under H2's win: e0 and e1 at position 2 (by timestamp), e2 at 3
    expect(r.mainlineOrder.filter((id) => ids([e0, e1, e2]).includes(id))).toEqual(ids([e0, e1, e2]));
    expect(r.state.get(stateMapKey(T.Channel, 'general'))?.event_id).toBe(e2.event_id);
    expect(resolveState([...sets].reverse(), h.lookup).get(stateMapKey(T.Channel, 'general'))?.event_id).toBe(e2.event_id);
  });
});
