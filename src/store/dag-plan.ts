import type { StoredEvent } from '../events/event-types.js';
import { stateMapKey, type StateMap } from '../events/state-map.js';
import { MAX_CHAIN } from './state-groups.js';

// What an append writes beside the log rows: the state groups of the states after its
// events, which group each event's state is, the room's new current state, and what to
// project. Local appends get a linear plan (each event extends the current state); the
// remote append path builds plans that fork and merge (remote-plan.ts).

/** A state group that exists (`id`) or that this append writes (`index` into DagPlan.groups). */
export type GroupRef = { id: string } | { index: number };

export interface PlannedGroup {
  parent: GroupRef | null;
  chain: number;
  delta: Array<[string, string, string]>;
}

/** `self`: project the event itself; `slots`: after it, (re)project these current-state winners. */
export interface ProjectionStep {
  self: boolean;
  slots?: string[];
}

export interface DagPlan {
  groups: PlannedGroup[];
  /** Per event: the group of the state after it; null for an outlier (an event whose
   *  state we don't know: part of a joined guild's state or auth chain, not of our DAG). */
  after: Array<GroupRef | null>;
  softFailed: boolean[];
  current: GroupRef;
  /** The chain length of `current` when it is an existing group. */
  currentChain: number;
  project: ProjectionStep[];
}

export function sameRef(a: GroupRef, b: GroupRef): boolean {
  return 'id' in a ? 'id' in b && a.id === b.id : 'index' in b && a.index === b.index;
}

/** Adds a group to `plan` that takes `state` from `parent` (whose slots are `parentState`); returns its ref and chain. */
export function planGroup(
  plan: Pick<DagPlan, 'groups'>,
  parent: { ref: GroupRef; chain: number } | null,
  state: StateMap,
  changed?: Iterable<StoredEvent>,
  parentState?: StateMap,
): { ref: GroupRef; chain: number } {
  const full = parent === null || parent.chain + 1 >= MAX_CHAIN;
  const delta: Array<[string, string, string]> = [];
  if (full) {
    for (const ev of state.values()) delta.push([ev.pdu.type, ev.pdu.state_key as string, ev.event_id]);
  } else if (changed) {
    for (const ev of changed) delta.push([ev.pdu.type, ev.pdu.state_key as string, ev.event_id]);
  } else {
    for (const [key, ev] of state) if (parentState?.get(key)?.event_id !== ev.event_id) delta.push([ev.pdu.type, ev.pdu.state_key as string, ev.event_id]);
  }
  const chain = full ? 0 : parent!.chain + 1;
  plan.groups.push({ parent: full ? null : parent!.ref, chain, delta });
  return { ref: { index: plan.groups.length - 1 }, chain };
}

/**
 * The plan of a local append: every event extends the current state (its prev_events are
 * the room's forward extremities), a state event starts a new group one slot away from
 * the last, and everything is projected as itself. `state` is the state before the batch.
 */
export function linearPlan(current: { id: string; chain: number } | null, events: StoredEvent[], state: StateMap): DagPlan {
  const plan: DagPlan = { groups: [], after: [], softFailed: [], current: { id: '' }, currentChain: 0, project: [] };
  let at: { ref: GroupRef; chain: number } | null = current ? { ref: { id: current.id }, chain: current.chain } : null;
  let working: Map<string, StoredEvent> | undefined;
  for (const ev of events) {
    if (typeof ev.pdu.state_key === 'string') {
      // Only a snapshot needs the whole state; a delta is the one slot.
      working ??= new Map(state);
      working.set(stateMapKey(ev.pdu.type, ev.pdu.state_key), ev);
      at = planGroup(plan, at, working, [ev]);
    } else if (at === null) {
      // A room from before state groups existed: its first append snapshots its state.
      at = planGroup(plan, null, working ?? state);
    }
    plan.after.push(at.ref);
    plan.softFailed.push(false);
    plan.project.push({ self: true });
  }
  if (at) {
    plan.current = at.ref;
    plan.currentChain = at.chain;
  }
  return plan;
}
