import { EventType as T } from '../../../src/events/event-types.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { isPowerEvent, senderPower } from '../../../src/events/state-res/power-events.js';
import { predecessorsWithin, reachOf, reverseTopologicalPowerOrder } from '../../../src/events/state-res/power-ordering.js';
import { HELPER, MOD, OUTSIDER, OWNER, PLAIN_A, PLAIN_B } from './sim-actions.js';
import { d, HandDag, ids } from './hand-dag.js';

describe('isPowerEvent', () => {
  const h = new HandDag();
  const g = h.g;
  const power = (draft: Parameters<HandDag['on']>[1], on = g) => isPowerEvent(h.on(on, draft), h.lookup);

  test.each([
    ['a role', true, () => power(d.role(OWNER, 'r1', 0n, 1))],
    ['guild settings', true, () => power(d.settings(MOD, 'name'))],
    ['an overwrite', true, () => power(d.overwrite(OWNER, 'general', 'everyone', P.ADD_REACTIONS))],
    ['a channel', false, () => power(d.channel(MOD, 'c1', 'c1'))],
    ['a ban', true, () => power(d.ban(MOD, PLAIN_A))],
    ['a kick', true, () => power(d.leave(MOD, PLAIN_B))],
    ['an unban', true, () => power(d.leave(OWNER, PLAIN_A), h.on(g, d.ban(OWNER, PLAIN_A)).event_id)],
    ['an invite by someone else', false, () => power(d.member(OWNER, OUTSIDER, { membership: 'invite' }))],
    ['a self join', false, () => power(d.member(OUTSIDER, OUTSIDER, { membership: 'join' }), h.on(g, d.member(OWNER, OUTSIDER, { membership: 'invite' })).event_id)],
    ['a member without roles leaving', false, () => power(d.leave(PLAIN_A, PLAIN_A))],
    ['a role holder leaving (they lose their roles)', true, () => power(d.leave(HELPER, HELPER))],
    ['a role grant', true, () => power(d.grant(MOD, PLAIN_A, ['helper']))],
    ['a nick change that keeps the roles', false, () => power(d.member(HELPER, HELPER, { membership: 'join', roles: ['helper'], nick: 'hh' }))],
    ["a moderator changing someone's nick", false, () => power(d.member(MOD, PLAIN_A, { membership: 'join', nick: 'pp' }))],
  ] as [string, boolean, () => boolean][])('given %s, then power event = %s', (_name, expected, run) => {
    expect(run()).toBe(expected);
  });

  test('given the create event, then it is a power event', () => {
    expect(isPowerEvent(h.at(T.Create, ''), h.lookup)).toBe(true);
  });
});

describe('senderPower', () => {
  const h = new HandDag();
  test.each([
    [OWNER, Number.POSITIVE_INFINITY],
    [MOD, 5],
    [HELPER, 3],
    [PLAIN_A, 0],
  ])('given a message by %s, then the power read from its own auth events is %s', (sender, expected) => {
    expect(senderPower(h.on(h.g, d.message(sender)), h.lookup)).toBe(expected);
  });

  test('given a join (the sender is not joined in its auth events yet), then 0', () => {
    const invite = h.on(h.g, d.member(OWNER, OUTSIDER, { membership: 'invite' }));
    expect(senderPower(h.on(invite.event_id, d.member(OUTSIDER, OUTSIDER, { membership: 'join' })), h.lookup)).toBe(0);
  });
});

describe('reverseTopologicalPowerOrder', () => {
  const order = (h: HandDag, evs: Parameters<typeof reverseTopologicalPowerOrder>[0]) => ids(reverseTopologicalPowerOrder(evs, h.lookup));

  test('given concurrent events, then the more powerful sender goes first even with a later timestamp', () => {
    const h = new HandDag();
    const mod = h.on(h.g, d.settings(MOD, 'mod'), 100);
    const owner = h.on(h.g, d.settings(OWNER, 'owner'), 200);
    expect(order(h, [mod, owner])).toEqual(ids([owner, mod]));
  });

  test('given equal power, then the earlier origin_server_ts goes first', () => {
    const h = new HandDag();
    const late = h.on(h.g, d.settings(OWNER, 'late'), 300);
    const early = h.on(h.g, d.settings(OWNER, 'early'), 250);
    expect(order(h, [late, early])).toEqual(ids([early, late]));
  });

  test('given equal power and timestamp, then the smaller event id goes first', () => {
    const h = new HandDag();
    const x = h.on(h.g, d.settings(OWNER, 'xx'), 400);
    const y = h.on(h.g, d.settings(OWNER, 'yy'), 400);
    const [first, second] = x.event_id < y.event_id ? [x, y] : [y, x];
    expect(order(h, [second, first])).toEqual(ids([first, second]));
  });

  test('given an event whose auth chain reaches another only through an event outside the set, then it still comes after it', () => {
    const h = new HandDag();
    // the mod creates r1 (A) and hands it to @p:a (B, not in the set); the owner kicks @p:a (C)
    const [a, b, c] = h.chain(h.g, d.role(MOD, 'r1', 0n, 2), d.grant(MOD, PLAIN_A, ['r1']), d.leave(OWNER, PLAIN_A));
    const set = new Map([a, c].map((e) => [e.event_id, e]));
    expect(predecessorsWithin(set, h.lookup).get(c.event_id)).toEqual(new Set([a.event_id]));
    expect(c.pdu.auth_events).toContain(b.event_id);
    expect(order(h, [c, a])).toEqual(ids([a, c])); // the owner's kick waits for the mod's role
  });

  test('given a weak event that a strong one builds on, then it goes before a concurrent event of middling power (reach)', () => {
    const h = new HandDag();
    // branch 1: @x:c joins (power 0), then the owner makes @x:c a helper (power +∞)
    const [join, promote] = h.chain(
      h.g,
      { ...d.member(OUTSIDER, OUTSIDER, { membership: 'join', authorised_by: PLAIN_A }), cosign: ['a'] },
      d.grant(OWNER, OUTSIDER, ['helper']),
    );
    // branch 2: the mod (power 5) renames the guild
    const rename = h.on(h.g, d.settings(MOD, 'mod rename'));
    // Matrix's own-power rank would give rename, join, promote.
    expect(order(h, [promote, rename, join])).toEqual(ids([join, promote, rename]));
  });

  test('reachOf: an event reaches the greatest power among itself and everything built on it', () => {
    const power = new Map([
      ['a', 0],
      ['b', 7],
      ['c', 3],
      ['d', 1],
    ]);
    // b and c build on a; d builds on c
    const preds = new Map<string, ReadonlySet<string>>([
      ['a', new Set()],
      ['b', new Set(['a'])],
      ['c', new Set(['a'])],
      ['d', new Set(['c'])],
    ]);
    expect(reachOf(power, preds)).toEqual(new Map([['a', 7], ['b', 7], ['c', 3], ['d', 1]]));
  });
});
