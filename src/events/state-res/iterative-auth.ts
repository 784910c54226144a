// Iterative auth checks (spec/state-resolution.md): replay sorted events on top of a
// state being built, keeping each one only if the auth rules allow it there.

import type { StoredEvent } from '../event-types.js';
import { authorizeEvent } from '../auth-rules.js';
import { applyInPlace, type StateMap } from '../state-map.js';
import type { EventLookup } from './auth-chain.js';
import { authEventsState } from './power-events.js';

/**
 * A read-only view of `top` with `bottom` filling the slots `top` lacks: "the state being
 * built, and where it has no event for a slot the rules read, the event's own auth event
 * for that slot". Reads are O(1); only `size` and iteration (which the auth rules use
 * only for the create event) build the merged map.
 */
export class LayeredState implements ReadonlyMap<string, StoredEvent> {
  constructor(
    private readonly top: StateMap,
    private readonly bottom: StateMap,
  ) {}

  get(key: string): StoredEvent | undefined {
    return this.top.get(key) ?? this.bottom.get(key);
  }

  has(key: string): boolean {
    return this.top.has(key) || this.bottom.has(key);
  }

  private merged(): Map<string, StoredEvent> {
    const m = new Map(this.bottom);
    for (const [k, v] of this.top) m.set(k, v);
    return m;
  }

  get size(): number {
    let n = this.top.size;
    for (const k of this.bottom.keys()) if (!this.top.has(k)) n++;
    return n;
  }

  entries(): MapIterator<[string, StoredEvent]> {
    return this.merged().entries();
  }

  keys(): MapIterator<string> {
    return this.merged().keys();
  }

  values(): MapIterator<StoredEvent> {
    return this.merged().values();
  }

  forEach(fn: (value: StoredEvent, key: string, map: ReadonlyMap<string, StoredEvent>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.merged()) fn.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, StoredEvent]> {
    return this.entries();
  }
}

/**
 * Whether `ev` is allowed on top of `state`, with the slots `state` lacks filled from
 * `ev`'s own auth events, except those in `rejected`: an event this resolution refused
 * must not come back through the back door (a role or overwrite created on a losing
 * branch has no slot in the state being built, so its successors would otherwise be
 * judged by it).
 */
export function allowedOnPartialState(
  ev: StoredEvent,
  state: StateMap,
  lookup: EventLookup,
  rejected?: ReadonlySet<string>,
): boolean {
  return authorizeEvent(ev, new LayeredState(state, authEventsState(ev, lookup, rejected))).ok;
}

/**
 * Applies each event of `sorted`, in order, to `state` (mutated) if it is allowed there;
 * an event that is not allowed is dropped and added to `rejected` (shared between the
 * two replays of one resolution). Returns the ids dropped by this call, in order.
 */
export function iterativeAuthChecks(
  state: Map<string, StoredEvent>,
  sorted: Iterable<StoredEvent>,
  lookup: EventLookup,
  rejected: Set<string> = new Set(),
): string[] {
  const dropped: string[] = [];
  for (const ev of sorted) {
    if (allowedOnPartialState(ev, state, lookup, rejected)) {
      applyInPlace(state, ev);
    } else {
      rejected.add(ev.event_id);
      dropped.push(ev.event_id);
    }
  }
  return dropped;
}
