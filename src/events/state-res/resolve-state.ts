// State resolution (spec/state-resolution.md): the state of a guild where its DAG
// forks, the same on every server whatever order the events arrived in. Matrix state
// resolution v2 with the two v2.1 changes (MSC4297), adapted to Nexus's roles.
//
//   1. split the input states into unconflicted slots and conflicted events;
//   2. full conflicted set = conflicted ∪ auth difference ∪ conflicted subgraph;
//   3. replay its power events (with the events of their auth chains in the set), in
//      reverse topological power order, with iterative auth checks from an empty state;
//   4. replay the other events of the set, in mainline order, on top of that;
//   5. put the unconflicted slots back on top.

import { EventType, type StoredEvent } from '../event-types.js';
import { stateMapKey, type StateMap } from '../state-map.js';
import { authClosure, type EventLookup } from './auth-chain.js';
import { authDifference, conflictedSubgraph } from './auth-difference.js';
import { splitConflicted } from './conflicted-state.js';
import { iterativeAuthChecks } from './iterative-auth.js';
import { mainlineOrder, roleEventsOf } from './mainline-ordering.js';
import { isPowerEvent } from './power-events.js';
import { reverseTopologicalPowerOrder } from './power-ordering.js';

/** What resolution did, step by step (for tests, logs and debugging). */
export interface Resolution {
  state: Map<string, StoredEvent>;
  unconflicted: Map<string, StoredEvent>;
  conflicted: string[];
  /** The full conflicted set (conflicted ∪ auth difference ∪ conflicted subgraph). */
  fullConflicted: string[];
  /** Step 3's events in replay order, and step 4's. */
  powerOrder: string[];
  mainlineOrder: string[];
  /** Events of the full conflicted set the iterative auth checks refused. */
  dropped: string[];
}

/** The room of the input, if all its create events agree: events of other rooms are ignored. */
function roomOf(stateSets: readonly StateMap[]): string | undefined {
  const rooms = new Set<string>();
  for (const set of stateSets) {
    const create = set.get(stateMapKey(EventType.Create, ''));
    if (create) rooms.add(create.pdu.room_id);
  }
  return rooms.size === 1 ? [...rooms][0] : undefined;
}

/**
 * Resolves `stateSets` (e.g. the states after each prev_event of a merge). `getEvent` must
 * return every event of their auth chains; the sets' own events are taken from the sets.
 * Events the lookup lacks are treated as absent, so a server must fetch auth chains first.
 * The result is a new map; the inputs are not changed.
 */
export function resolveStateDetailed(stateSets: readonly StateMap[], getEvent: EventLookup): Resolution {
  const split = splitConflicted(stateSets);
  const { unconflicted, conflicted } = split;
  const none = { conflicted: [], fullConflicted: [], powerOrder: [], mainlineOrder: [], dropped: [] };
  if (conflicted.size === 0) return { state: new Map(unconflicted), unconflicted, ...none };

  const lookup: EventLookup = (id) => conflicted.get(id) ?? getEvent(id);
  const room = roomOf(stateSets);
  const full = new Map<string, StoredEvent>();
  const consider = (id: string): void => {
    const ev = lookup(id);
    if (!ev || typeof ev.pdu?.state_key !== 'string') return; // only state events are replayed
    if (room !== undefined && ev.pdu.room_id !== room) return;
    full.set(id, ev);
  };
  for (const id of conflicted.keys()) consider(id);
  for (const id of authDifference(split, lookup)) consider(id);
  for (const id of conflictedSubgraph(conflicted, lookup)) consider(id);

  // Step 3: the power events, with the events of their auth chains in the full set.
  const powerEvents = [...full.values()].filter((ev) => isPowerEvent(ev, lookup));
  const powerSet = new Map<string, StoredEvent>();
  for (const id of authClosure(powerEvents, lookup)) {
    const ev = full.get(id);
    if (ev) powerSet.set(id, ev);
  }
  const powerOrder = reverseTopologicalPowerOrder(powerSet.values(), lookup);
  const partial = new Map<string, StoredEvent>();
  const rejected = new Set<string>();
  const dropped = iterativeAuthChecks(partial, powerOrder, lookup, rejected);

  // Step 4: everything else, ordered along the role mainline of the resolved roles.
  const rest = [...full.values()].filter((ev) => !powerSet.has(ev.event_id));
  const restOrder = mainlineOrder(rest, rolesByKey(partial, unconflicted), lookup);
  dropped.push(...iterativeAuthChecks(partial, restOrder, lookup, rejected));

  // Step 5: the unconflicted slots win.
  const state = new Map(unconflicted);
  for (const [k, v] of partial) if (!unconflicted.has(k)) state.set(k, v);
  return {
    state,
    unconflicted,
    conflicted: [...conflicted.keys()],
    fullConflicted: [...full.keys()],
    powerOrder: powerOrder.map((e) => e.event_id),
    mainlineOrder: restOrder.map((e) => e.event_id),
    dropped,
  };
}

/** The role slots of the partially resolved state, with unconflicted slots winning (as in step 5). */
function rolesByKey(partial: StateMap, unconflicted: StateMap): StoredEvent[] {
  const roles = new Map<string, StoredEvent>();
  for (const ev of roleEventsOf(partial)) roles.set(ev.pdu.state_key as string, ev);
  for (const ev of roleEventsOf(unconflicted)) roles.set(ev.pdu.state_key as string, ev);
  return [...roles.values()];
}

/** The resolved state of `stateSets` (see resolveStateDetailed). */
export function resolveState(stateSets: readonly StateMap[], getEvent: EventLookup): Map<string, StoredEvent> {
  return resolveStateDetailed(stateSets, getEvent).state;
}
