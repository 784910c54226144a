import { authorizeEvent } from '../events/auth-rules.js';
import { EventType, type StoredEvent } from '../events/event-types.js';
import { authEventsState } from '../events/state-res/power-events.js';
import { applyToState, type StateMap } from '../events/state-map.js';
import { advanceHead, type RoomHead } from '../store/append-events.js';
import { planGroup, sameRef, type DagPlan, type GroupRef } from '../store/dag-plan.js';
import { eventStateGroups, rejectedEvents } from '../store/state-groups.js';
import type { StateStore } from '../store/state-store.js';
import type { Db } from '../store/database.js';
import { eventIdsInLog } from '../store/event-log.js';

// The remote half of the append path (spec/federation.md, "Receiving PDUs"): peers' events,
// already checked for hashes and signatures, are placed in the guild's DAG. For each event,
// in the order given (parents before children):
//   1. the state before it is the state after its prev_event, or the resolution of the
//      states after its prev_events when it merges a fork;
//   2. it must pass the auth rules against that state, and against the state its own
//      auth_events make, or it is rejected (and remembered as rejected, with its
//      prev_events: a rejected event changes nothing, so the state after it is the state
//      before it, and events that cite it stand on that);
//   3. the guild's new current state is the resolution of its new forward extremities;
//   4. an event that fails the auth rules against the *current* state is soft-failed: kept
//      in the DAG (every server must agree on the DAG) but not shown (e.g. a message from
//      a user banned on another branch);
//   5. the views change as the current state changed: linearly, or slot by slot after a
//      resolution.

export type RemoteVerdict =
  | { status: 'accepted'; softFailed: boolean }
  | { status: 'duplicate' }
  | { status: 'rejected'; reason: string }
  /** Some prev_events' states are unknown: fetch them (get_missing_events) and retry. */
  | { status: 'missing'; missing: string[] };

/** What the planner knows of an event's state-after. */
interface Known {
  ref: GroupRef | null; // null: no group (the empty state before a guild's create event)
  chain: number;
  state: StateMap;
}

const parentOf = (k: Known) => (k.ref ? { ref: k.ref, chain: k.chain } : null);
const same = (a: Known, b: Known) => (a.ref === null || b.ref === null ? a.ref === b.ref : sameRef(a.ref, b.ref));

export interface RemotePlan {
  plan: DagPlan;
  /** The events to append, in order (outliers first). */
  events: StoredEvent[];
  verdicts: Map<string, RemoteVerdict>;
  rejections: Array<{ event_id: string; room_id: string; reason: string; prev_events: string[] }>;
  /** The current state after the plan (what appendToRoom will have advanced `state` to). */
  current: StateMap;
}

export interface RemoteBatch {
  events: StoredEvent[];
  /**
   * Events of the guild's state and auth chain that a join brings (send_join's answer),
   * stored as outliers: in the log, not in our DAG. Those in `seedState` are projected as
   * the guild's current state.
   */
  outliers?: StoredEvent[];
  /** The state before the first of `events`, when their prev_events are outliers (a join). */
  seedState?: StateMap;
  /** Events kept in their redacted form (content hash mismatch): auth skips rule 2.3, and they are never shown. */
  redacted?: ReadonlySet<string>;
  /**
   * The outliers are history fetched from a peer (backfill): placed in the timeline before
   * `before` (history-placement.ts), not at the time they arrive. Without `before`, before
   * everything already here.
   */
  history?: { before?: number };
  /** Events that authorize the outliers (their auth events) without being stored themselves. */
  authContext?: StoredEvent[];
}

export async function planRemoteAppend(db: Db, store: StateStore, head: RoomHead, current: StateMap, batch: RemoteBatch): Promise<RemotePlan> {
  const plan: DagPlan = { groups: [], after: [], softFailed: [], current: { id: '' }, currentChain: 0, project: [] };
  const verdicts = new Map<string, RemoteVerdict>();
  const rejections: RemotePlan['rejections'] = [];
  const out: StoredEvent[] = [];
  const events = batch.events;

  const ids = [...events, ...(batch.outliers ?? [])].map((e) => e.event_id);
  const inLog = await eventIdsInLog(db, ids);
  const batchKnown = new Map<string, Known>();
  const batchEvents = new Map(events.map((e) => [e.event_id, e]));
  const prevsOf = (e: StoredEvent) => [...new Set(Array.isArray(e.pdu.prev_events) ? e.pdu.prev_events : [])];
  // Rejected before: the batch's own events (not checked again), and the prev_events that
  // the batch cites from outside it (its events stand on the state before those).
  const rejectedBefore = await rejectedEvents(db, [...new Set([...batchEvents.keys(), ...events.flatMap(prevsOf).filter((p) => !batchEvents.has(p))])]);
  const rejectedPrevs = new Map<string, string[]>();
  for (const [id, r] of rejectedBefore) if (r.prevEvents) rejectedPrevs.set(id, r.prevEvents);

  // Outliers: stored once. Those in the seed state hold its slots in the views; history
  // fetched with a join (messages and the like) is shown if its own auth events allow it.
  const seedIds = new Set([...(batch.seedState?.values() ?? [])].map((e) => e.event_id));
  const outliers = batch.outliers ?? [];
  const outlierById = new Map([...(batch.authContext ?? []), ...outliers].map((e) => [e.event_id, e]));
  const cited = await store.eventsById(outliers.flatMap((e) => e.pdu.auth_events).filter((id) => !outlierById.has(id)));
  for (const ev of outliers) {
    if (inLog.has(ev.event_id)) continue;
    const isState = typeof ev.pdu.state_key === 'string';
    const redacted = batch.redacted?.has(ev.event_id) === true;
    if (!isState && !authorizeEvent(ev, authEventsState(ev, (id) => outlierById.get(id) ?? cited.get(id)), { redacted }).ok) continue;
    inLog.add(ev.event_id);
    out.push(ev);
    store.rememberEvents([ev]);
    plan.after.push(null);
    plan.softFailed.push(false);
    // A message served in its redacted form was deleted: stored, never shown.
    plan.project.push({ self: seedIds.has(ev.event_id) || (!isState && !redacted) });
  }

  let cur: Known = head.stateGroup
    ? { ref: { id: head.stateGroup.id }, chain: head.stateGroup.chain, state: current }
    : { ref: null, chain: 0, state: current };
  let seed: Known | undefined;
  let acc = head;
  // What the views show: the current state, or the seed state once its outliers are projected.
  let shown: StateMap = batch.seedState && !head.stateGroup ? batch.seedState : current;

  // The states after events already in the log. Every event of a fork asks for the states
  // of all the guild's forward extremities, so they are fetched in one query up front and
  // kept for the plan: the log does not change under it (the room's queue is ours).
  const askedFor = new Set([...head.extremities, ...events.flatMap((e) => (Array.isArray(e.pdu.prev_events) ? e.pdu.prev_events : []))].filter((id) => !batchEvents.has(id)));
  const groupOf = await eventStateGroups(db, [...askedFor]);
  const knownGroups = new Map<string, Known>();
  async function knownState(eventId: string): Promise<Known | undefined> {
    const inBatch = batchKnown.get(eventId);
    if (inBatch) return inBatch;
    if (!askedFor.has(eventId)) {
      askedFor.add(eventId);
      const row = (await eventStateGroups(db, [eventId])).get(eventId);
      if (row) groupOf.set(eventId, row);
    }
    const row = groupOf.get(eventId);
    if (!row) return undefined;
    let known = knownGroups.get(row.group);
    if (!known) {
      const g = await store.group(row.group);
      known = { ref: { id: g.id }, chain: g.chain, state: await store.stateOfGroup(g.id) };
      knownGroups.set(row.group, known);
    }
    return known;
  }

  /**
   * The state after `eventId`, or the prev_events whose states are unknown. A rejected
   * event changes nothing: the state after it is the state before it (the resolution of
   * the states after its own prev_events), so one refused event does not cut off the
   * events built on it (its server's later events cite it).
   */
  async function stateAfter(eventId: string, hops = 0): Promise<Known | { missing: string[] }> {
    const known = await knownState(eventId);
    if (known) return known;
    const prevs = rejectedPrevs.get(eventId);
    if (!prevs || prevs.length === 0 || hops >= MAX_REJECTED_HOPS) return { missing: [eventId] };
    const parts: Known[] = [];
    const missing: string[] = [];
    for (const p of prevs) {
      const k = await stateAfter(p, hops + 1);
      if ('missing' in k) missing.push(...k.missing);
      else parts.push(k);
    }
    return missing.length > 0 ? { missing } : resolve(parts);
  }

  async function resolve(parts: Known[]): Promise<Known> {
    const distinct = parts.filter((p, i) => parts.findIndex((q) => same(p, q)) === i);
    if (distinct.length === 1) return distinct[0];
    const state = await store.resolve(distinct.map((p) => p.state), (id) => (batchKnown.has(id) ? batchEvents.get(id) : undefined));
    const g = planGroup(plan, parentOf(distinct[0]), state, undefined, distinct[0].state);
    return { ...g, state };
  }

  for (const ev of events) {
    const id = ev.event_id;
    if (verdicts.has(id)) continue;
    if (inLog.has(id)) {
      verdicts.set(id, { status: 'duplicate' });
      continue;
    }
    const earlier = rejectedBefore.get(id);
    if (earlier) {
      verdicts.set(id, { status: 'rejected', reason: earlier.reason });
      // A rejection recorded before prev_events were kept: the event itself says them.
      if (!rejectedPrevs.has(id)) rejectedPrevs.set(id, prevsOf(ev));
      continue;
    }
    const prevIds = prevsOf(ev);
    const reject = (reason: string) => {
      verdicts.set(id, { status: 'rejected', reason });
      rejections.push({ event_id: id, room_id: ev.pdu.room_id, reason, prev_events: prevIds });
      rejectedPrevs.set(id, prevIds);
    };

    // 1. The state before the event.
    let before: Known;
    if (ev.pdu.type === EventType.Create && prevIds.length === 0) {
      before = { ref: null, chain: 0, state: new Map() };
    } else if (batch.seedState && !seed && prevIds.every((p) => !batchKnown.has(p))) {
      // A join: the state before it is the one its resident server sent, checked by the caller.
      const g = planGroup(plan, null, batch.seedState);
      seed = before = { ...g, state: batch.seedState };
    } else {
      if (prevIds.length === 0) {
        reject('no usable prev_events');
        continue;
      }
      const parts: Known[] = [];
      const missing: string[] = [];
      for (const p of prevIds) {
        const k = await stateAfter(p);
        if ('missing' in k) missing.push(...k.missing);
        else parts.push(k);
      }
      if (missing.length > 0) {
        verdicts.set(id, { status: 'missing', missing });
        continue;
      }
      before = await resolve(parts);
    }

    // 2. The auth rules, against the state before it and against its own auth events.
    const redacted = batch.redacted?.has(id) === true;
    const verdict = authorizeEvent(ev, before.state, { redacted });
    if (!verdict.ok) {
      reject(verdict.reason);
      continue;
    }
    // Only events accepted earlier in this batch come from it; the rest (a duplicate resent
    // with the batch, typically the create event) are in the log.
    const authEvents = await store.eventsById((ev.pdu.auth_events ?? []).filter((a) => !batchKnown.has(a)));
    const own = authEventsState(ev, (a) => authEvents.get(a) ?? (batchKnown.has(a) ? batchEvents.get(a) : undefined));
    const ownVerdict = authorizeEvent(ev, own, { redacted });
    if (!ownVerdict.ok) {
      reject(`by its own auth events: ${ownVerdict.reason}`);
      continue;
    }

    const isState = typeof ev.pdu.state_key === 'string';
    let after = before;
    if (isState) {
      const state = applyToState(before.state, ev);
      after = { ...planGroup(plan, parentOf(before), state, [ev]), state };
    }

    // 4. Soft failure: checked against the current state when the event was not built on it.
    const softFailed = !same(before, cur) && !authorizeEvent(ev, cur.state, { redacted }).ok;

    // 3. The new current state.
    acc = advanceHead(acc, [ev]);
    let next: Known;
    if (acc.extremities.length === 1 && acc.extremities[0] === id) next = after;
    else {
      const parts: Known[] = [];
      for (const x of acc.extremities) {
        const k = x === id ? after : await knownState(x);
        if (k) parts.push(k);
      }
      next = await resolve(parts);
    }

    // 5. What the views must show.
    if (!isState) plan.project.push({ self: !softFailed && !redacted });
    else if (same(before, cur) && same(next, after)) plan.project.push({ self: true });
    else plan.project.push({ self: false, slots: changedSlots(shown, next.state) });

    out.push(ev);
    plan.after.push(after.ref!); // a state event always has a group after it, and a create event is one
    plan.softFailed.push(softFailed);
    batchKnown.set(id, after);
    verdicts.set(id, { status: 'accepted', softFailed });
    cur = next;
    shown = next.state;
  }
  if (cur.ref) plan.current = cur.ref;
  plan.currentChain = cur.chain;
  return { plan, events: out, verdicts, rejections, current: cur.state };
}

/** How far back through rejected events a state is looked for (a chain of them is a peer's bug, not history). */
const MAX_REJECTED_HOPS = 50;

/** The winners of the slots that differ between two states. */
function changedSlots(from: StateMap, to: StateMap): string[] {
  const out: string[] = [];
  for (const [key, ev] of to) if (from.get(key)?.event_id !== ev.event_id) out.push(ev.event_id);
  return out;
}

