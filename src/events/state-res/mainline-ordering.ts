// The mainline ordering (spec/state-resolution.md, "Role mainline"): the order in which
// the conflicted events that are not power events are replayed.
//
// Matrix orders them by the power-levels event each was authorised under, measured along
// the "mainline" (the winning power-levels event and its power-levels ancestors). Nexus
// has no single power-levels event: the analogue is the guild's role configuration, which
// every event cites (each event's auth_events hold the @everyone role and the sender's
// roles). The role mainline is the set of role events that the resolved role slots are
// built on (the resolved role events and every role event in their auth chains); an
// event's mainline position is the depth, within that set, of the deepest role event of
// the set in its auth chain. An event written under a role change that lost the
// resolution thus sorts as if written before that change.

import { EventType, type StoredEvent } from '../event-types.js';
import { stateMapKey, type StateMap } from '../state-map.js';
import { authClosure, authEventIds, foldAuthDag, type EventLookup } from './auth-chain.js';
import { compareIds, timestampOf } from './power-ordering.js';

/** The role events of a state (e.g. the resolved power state). */
export function roleEventsOf(state: StateMap): StoredEvent[] {
  const prefix = stateMapKey(EventType.Role, '');
  const out: StoredEvent[] = [];
  for (const [key, ev] of state) if (key.startsWith(prefix)) out.push(ev);
  return out;
}

/** The role mainline: the resolved role events and every role event in their auth chains. */
export function roleMainline(resolvedRoles: Iterable<StoredEvent>, lookup: EventLookup): Set<string> {
  const mainline = new Set<string>();
  for (const id of authClosure(resolvedRoles, lookup)) {
    if (lookup(id)?.pdu.type === EventType.Role) mainline.add(id);
  }
  return mainline;
}

/**
 * Mainline position of each event: 0 if its auth chain holds no mainline event; else the
 * largest depth of a mainline event in its auth chain, where a mainline event's depth is
 * 1 + the mainline position it would itself have (so the first role event is depth 1).
 */
export function mainlinePositions(
  events: Iterable<StoredEvent>,
  mainline: ReadonlySet<string>,
  lookup: EventLookup,
): Map<string, number> {
  const position = new Map<string, number>();
  // What an auth event adds to the position of an event citing it.
  const through = (id: string): number => {
    const p = position.get(id);
    if (p === undefined) return 0; // unknown to the lookup
    return mainline.has(id) ? p + 1 : p;
  };
  // The fold computes children first, so `through` can read them from `position`.
  const positionOf = (ev: StoredEvent): number => authEventIds(ev).reduce((best, id) => Math.max(best, through(id)), 0);
  const out = new Map<string, number>();
  for (const ev of events) {
    foldAuthDag(authEventIds(ev), lookup, positionOf, position);
    out.set(ev.event_id, positionOf(ev));
  }
  return out;
}

/** Sorts by (mainline position asc, origin_server_ts asc, event id asc). */
export function mainlineOrder(
  events: Iterable<StoredEvent>,
  resolvedRoles: Iterable<StoredEvent>,
  lookup: EventLookup,
): StoredEvent[] {
  const list = [...events];
  const positions = mainlinePositions(list, roleMainline(resolvedRoles, lookup), lookup);
  return list.sort(
    (x, y) =>
      (positions.get(x.event_id) as number) - (positions.get(y.event_id) as number) ||
      timestampOf(x) - timestampOf(y) ||
      compareIds(x.event_id, y.event_id),
  );
}
