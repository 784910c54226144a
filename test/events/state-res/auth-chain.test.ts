import { EventType as T, type StoredEvent } from '../../../src/events/event-types.js';
import { authClosure, authEventIds, foldAuthDag, type EventLookup } from '../../../src/events/state-res/auth-chain.js';
import { HELPER, OWNER } from './sim-actions.js';
import { HandDag } from './hand-dag.js';

describe('authClosure (auth chains)', () => {
  const h = new HandDag();
  const grant = h.at(T.Member, HELPER); // the owner handing @h:c the helper role (last genesis event)
  const named = {
    create: h.at(T.Create, ''),
    ownerJoin: h.dag.get(h.dag.order[1]),
    everyone: h.at(T.Role, 'everyone'),
    helperRole: h.at(T.Role, 'helper'),
    helperJoin: h.dag.get(grant.pdu.auth_events.find((id) => h.dag.get(id).pdu.sender === HELPER) as string),
  };

  test('given the helper grant, when its auth chain is taken, then it holds exactly the events that authorise it, transitively', () => {
    const chain = authClosure([grant], h.lookup);
    const helperInvite = h.dag.get(named.helperJoin.pdu.auth_events.find((id) => h.dag.get(id).pdu.state_key === HELPER) as string);
    expect(helperInvite.pdu.content.membership).toBe('invite');
    expect(chain).toEqual(
      new Set([grant, named.create, named.ownerJoin, named.everyone, named.helperRole, named.helperJoin, helperInvite].map((e) => e.event_id)),
    );
  });

  test('then it follows auth_events only: the #general channel and the mod role, earlier in the DAG, are not in it', () => {
    const chain = authClosure([grant], h.lookup);
    expect(chain.has(h.at(T.Channel, 'general').event_id)).toBe(false);
    expect(chain.has(h.at(T.Role, 'mod').event_id)).toBe(false);
  });

  test('given a stop set, when walking, then stopped events are neither listed nor walked past', () => {
    const chain = authClosure([grant], h.lookup, new Set([named.helperJoin.event_id]));
    expect(chain.has(named.helperJoin.event_id)).toBe(false);
    expect([...chain].some((id) => h.dag.get(id).pdu.content.membership === 'invite')).toBe(false);
    expect(chain.has(named.create.event_id)).toBe(true); // still reached through other paths
  });

  test('given a lookup that lacks an auth event, then the walk skips it without failing', () => {
    const partial: EventLookup = (id) => (id === named.everyone.event_id ? undefined : h.lookup(id));
    const chain = authClosure([grant], partial);
    expect(chain.has(named.everyone.event_id)).toBe(false);
    expect(chain.has(named.create.event_id)).toBe(true);
  });

  test('given malformed auth_events, then only the string ids count', () => {
    const odd = { event_id: '$odd', pdu: { ...grant.pdu, auth_events: [named.create.event_id, 7, null] as unknown as string[] } };
    expect(authEventIds(odd)).toEqual([named.create.event_id]);
  });
});

describe('foldAuthDag', () => {
  test('given the genesis DAG, when folding the longest auth path, then each event is one more than its deepest auth event', () => {
    const h = new HandDag();
    const depth = new Map<string, number>();
    foldAuthDag([h.g], h.lookup, (_ev, children) => 1 + Math.max(0, ...children), depth);
    expect(depth.get(h.at(T.Create, '').event_id)).toBe(1);
    expect(depth.get(h.dag.order[1])).toBe(2); // the owner's join cites only the create event
    expect(h.dag.get(h.dag.order[1]).pdu.sender).toBe(OWNER);
    for (const [id, n] of depth) {
      const children = h.dag.get(id).pdu.auth_events.map((a) => depth.get(a) as number);
      expect(n).toBe(1 + Math.max(0, ...children));
    }
  });

  test('given a leaf rule, then the fold stops there and uses its value', () => {
    const h = new HandDag();
    const memo = new Map<string, number>();
    const create = h.at(T.Create, '').event_id;
    foldAuthDag([h.g], h.lookup, (_ev, c) => Math.max(0, ...c), memo, (ev) => (ev.event_id === create ? 42 : undefined));
    expect(memo.get(h.g)).toBe(42);
  });

  test('given an auth chain 100,000 events deep, then neither walk overflows the stack', () => {
    const events = new Map<string, StoredEvent>();
    for (let i = 0; i < 100_000; i++) {
      const pdu = { auth_events: i === 0 ? [] : [`$${i - 1}`] } as unknown as StoredEvent['pdu'];
      events.set(`$${i}`, { event_id: `$${i}`, pdu });
    }
    const lookup: EventLookup = (id) => events.get(id);
    const top = events.get('$99999') as StoredEvent;
    expect(authClosure([top], lookup).size).toBe(100_000);
    const depth = new Map<string, number>();
    foldAuthDag(['$99999'], lookup, (_ev, c) => 1 + Math.max(0, ...c), depth);
    expect(depth.get('$99999')).toBe(100_000);
  });

  test('given a cycle (only a broken lookup can make one), then the fold still ends', () => {
    const a = { event_id: '$a', pdu: { auth_events: ['$b'] } } as unknown as StoredEvent;
    const b = { event_id: '$b', pdu: { auth_events: ['$a'] } } as unknown as StoredEvent;
    const lookup: EventLookup = (id) => ({ $a: a, $b: b })[id];
    const memo = new Map<string, number>();
    foldAuthDag(['$a'], lookup, (_ev, c) => 1 + Math.max(0, ...c), memo);
    expect(memo.get('$a')).toBe(2);
  });
});
