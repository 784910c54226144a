// The state at an event, defined over the DAG (spec/state-resolution.md, "State at an
// event"): the state before an event is the resolution of the states after its
// prev_events; the state after it adds the event itself, if it is an accepted state event.

import type { StoredEvent } from '../event-types.js';
import { authorizeEvent } from '../auth-rules.js';
import { applyToState, type StateMap } from '../state-map.js';
import type { EventLookup } from './auth-chain.js';
import { authEventsState } from './power-events.js';
import { resolveState } from './resolve-state.js';

/** States after events, by event id (what a server keeps, or computes on demand). */
export type StateAfterLookup = (eventId: string) => StateMap | undefined;

/**
 * The state before `ev`: empty for the create event (no prev_events), the state after the
 * single prev_event, or the resolution of the states after all of them. Undefined when
 * the state after some prev_event is unknown: the caller must fetch it first.
 */
export function stateBeforeEvent(ev: StoredEvent, getStateAfter: StateAfterLookup, getEvent: EventLookup): StateMap | undefined {
  const prevs = Array.isArray(ev.pdu.prev_events) ? [...new Set(ev.pdu.prev_events)] : [];
  if (prevs.length === 0) return new Map();
  const states: StateMap[] = [];
  for (const id of prevs) {
    const s = typeof id === 'string' ? getStateAfter(id) : undefined;
    if (!s) return undefined;
    states.push(s);
  }
  return states.length === 1 ? states[0] : resolveState(states, getEvent);
}

/**
 * The state after `ev`: `before` with `ev` in its slot when `ev` is a state event the
 * auth rules allow on `before` (and, given `getEvent`, on the state made of its own auth
 * events, as every received event must be); otherwise (a message, or a rejected event)
 * `before` itself. Copies the map (see applyToState).
 */
export function stateAfterEvent(ev: StoredEvent, before: StateMap, getEvent?: EventLookup): StateMap {
  if (typeof ev.pdu?.state_key !== 'string') return before;
  if (!authorizeEvent(ev, before).ok) return before;
  if (getEvent && !authorizeEvent(ev, authEventsState(ev, getEvent)).ok) return before;
  return applyToState(before, ev);
}
