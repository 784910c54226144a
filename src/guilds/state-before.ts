import type { StoredEvent } from '../events/event-types.js';
import { resolveState } from '../events/state-res/resolve-state.js';
import type { StateStore } from '../store/state-store.js';

/**
 * The state before an event of our DAG, from the states after its prev_events (resolved
 * when it merges a fork). Undefined when some prev_event's state is unknown.
 */
export async function stateBeforeEvent(store: StateStore, ev: StoredEvent): Promise<Map<string, StoredEvent> | undefined> {
  const states: Map<string, StoredEvent>[] = [];
  for (const prev of new Set(ev.pdu.prev_events)) {
    const s = await store.stateAfter(prev);
    if (!s) return undefined;
    states.push(s);
  }
  if (states.length === 0) return new Map();
  if (states.length === 1) return states[0];
  const known = await store.authClosureOf(states.flatMap((s) => [...s.values()]));
  return resolveState(states, (id) => known.get(id));
}
