import type { StoredEvent } from '../events/event-types.js';
import type { StateStore } from '../store/state-store.js';

/**
 * The state before an event of our DAG, from the states after its prev_events (resolved
 * when it merges a fork): state-res/state-at-event.ts's rule over the stored groups.
 * Undefined when some prev_event's state is unknown.
 */
export async function loadStateBefore(store: StateStore, ev: StoredEvent): Promise<Map<string, StoredEvent> | undefined> {
  const states: Map<string, StoredEvent>[] = [];
  for (const prev of new Set(ev.pdu.prev_events)) {
    const s = await store.stateAfter(prev);
    if (!s) return undefined;
    states.push(s);
  }
  if (states.length <= 1) return states[0] ?? new Map();
  return store.resolve(states);
}
