// The two ways state resolution widens the conflicted set (spec/state-resolution.md,
// "Full conflicted set"): the auth difference (Matrix v2) and the conflicted state
// subgraph (Matrix v2.1, MSC4297), so that every event a replay may need is replayed.

import type { StoredEvent } from '../event-types.js';
import { authClosure, authEventIds, foldAuthDag, type EventLookup } from './auth-chain.js';
import type { ConflictSplit } from './conflicted-state.js';

/**
 * The events in some but not all of the state sets' full auth chains (the chain of a set
 * being the closure of its events, the events included). Every set shares the closure of
 * the unconflicted events, so that is walked once and the per-set walks stop at it: a
 * fork of a guild with 10,000 members walks the members once, not once per set.
 */
export function authDifference(split: ConflictSplit, lookup: EventLookup): Set<string> {
  const sets = split.conflictedBySet;
  const diff = new Set<string>();
  if (sets.length < 2) return diff;
  const shared = authClosure(split.unconflicted.values(), lookup);
  const counts = new Map<string, number>();
  for (const events of sets) {
    for (const id of authClosure(events, lookup, shared)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const [id, n] of counts) if (n < sets.length) diff.add(id);
  return diff;
}

/**
 * The conflicted events plus every event on an auth path from one conflicted event to
 * another: e is in it when some conflicted event reaches e (strictly) through auth_events
 * and e reaches some conflicted event (e itself counts). A state set that holds an older
 * event than its own auth chains know of thus gets the events in between replayed.
 */
export function conflictedSubgraph(conflicted: ReadonlyMap<string, StoredEvent>, lookup: EventLookup): Set<string> {
  const out = new Set<string>(conflicted.keys());
  if (conflicted.size < 2) return out;
  // Everything strictly below a conflicted event.
  const below = new Set<string>();
  const stack: StoredEvent[] = [...conflicted.values()];
  while (stack.length > 0) {
    const ev = stack.pop() as StoredEvent;
    for (const id of authEventIds(ev)) {
      if (below.has(id)) continue;
      const next = lookup(id);
      if (!next) continue;
      below.add(id);
      stack.push(next);
    }
  }
  const reaches = new Map<string, boolean>();
  foldAuthDag(
    below,
    lookup,
    (_ev, children) => children.includes(true),
    reaches,
    (ev) => (conflicted.has(ev.event_id) ? true : undefined),
  );
  for (const id of below) if (reaches.get(id) === true) out.add(id);
  return out;
}
