// Three simulated homeservers writing one guild concurrently: each knows a part of the
// DAG, writes on top of its own forward extremities, and now and then syncs with a peer.
// Plus a "receiving server" that processes a finished DAG in a given delivery order.

import fc from 'fast-check';
import { EventType as T, EVERYONE_ROLE, type StoredEvent } from '../../../src/events/event-types.js';
import { authorizeEvent } from '../../../src/events/auth-rules.js';
import { DEFAULT_EVERYONE_PERMISSIONS } from '../../../src/events/permissions.js';
import { applyToState, type StateMap } from '../../../src/events/state-map.js';
import type { EventLookup } from '../../../src/events/state-res/auth-chain.js';
import { authEventsState } from '../../../src/events/state-res/power-events.js';
import { resolveState } from '../../../src/events/state-res/resolve-state.js';
import {
  ACTION_WHEEL,
  ACTIONS,
  HELPER,
  HELPER_PERMS,
  MOD,
  MOD_PERMS,
  OWNER,
  PLAIN_A,
  PLAIN_B,
  PLAIN_C,
  USERS_BY_SERVER,
  type Draft,
} from './sim-actions.js';
import { Dag, fingerprint, SERVERS } from './sim-dag.js';

export const BASE_TS = 1_700_000_000_000;

/** Runs for a property: `n`, times NEXUS_STATE_RES_SOAK (default 1) for a longer soak. */
export function propertyRuns(n: number): number {
  const k = Number(process.env.NEXUS_STATE_RES_SOAK ?? '1');
  return Number.isFinite(k) && k > 0 ? Math.round(n * k) : n;
}

/** create, owner join, @everyone, #general, roles mod (5) and helper (3), five members joined by invite, mod and helper handed out. */
export function genesis(dag: Dag): string {
  let tip: string[] = [];
  let ts = BASE_TS;
  const add = (d: Draft): string => {
    const ev = dag.add({ ...d, prevs: tip, ts: ts++ });
    tip = [ev.event_id];
    return ev.event_id;
  };
  const member = (sender: string, target: string, content: Record<string, unknown>) =>
    add({ type: T.Member, sender, stateKey: target, content });
  add({ type: T.Create, sender: OWNER, stateKey: '', content: { creator: OWNER, room_version: '1', kind: 'guild' } });
  member(OWNER, OWNER, { membership: 'join' });
  add({ type: T.Role, sender: OWNER, stateKey: EVERYONE_ROLE, content: { name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(), position: 0 } });
  add({ type: T.Channel, sender: OWNER, stateKey: 'general', content: { name: 'general', kind: 0, position: 0 } });
  add({ type: T.Role, sender: OWNER, stateKey: 'mod', content: { name: 'mod', permissions: MOD_PERMS.toString(), position: 5 } });
  add({ type: T.Role, sender: OWNER, stateKey: 'helper', content: { name: 'helper', permissions: HELPER_PERMS.toString(), position: 3 } });
  for (const u of [PLAIN_A, MOD, PLAIN_B, HELPER, PLAIN_C]) {
    member(OWNER, u, { membership: 'invite' });
    member(u, u, { membership: 'join' });
  }
  member(OWNER, MOD, { membership: 'join', roles: ['mod'] });
  return member(OWNER, HELPER, { membership: 'join', roles: ['helper'] });
}

/** One server's partial view of the DAG. */
export class ServerView {
  readonly known = new Set<string>();
  readonly tips = new Set<string>();
  readonly order: string[] = [];

  learn(ev: StoredEvent): void {
    if (this.known.has(ev.event_id)) return;
    this.known.add(ev.event_id);
    this.order.push(ev.event_id);
    for (const p of ev.pdu.prev_events) this.tips.delete(p);
    this.tips.add(ev.event_id);
  }
}

export interface Step {
  op: number;
  server: number;
  a: number;
  b: number;
  c: number;
}

export const stepArb: fc.Arbitrary<Step> = fc.record({
  op: fc.nat(99),
  server: fc.nat(2),
  a: fc.nat(1 << 20),
  b: fc.nat(1 << 20),
  c: fc.nat(1 << 20),
});

export class Network {
  readonly dag = new Dag();
  readonly views = SERVERS.map(() => new ServerView());
  // Each server's own clock, skewed, ticking in whole seconds (or not at all) so that
  // timestamps often tie and the event id tie-breaks get exercised.
  private readonly clocks = [BASE_TS + 1000, BASE_TS, BASE_TS + 2000];

  constructor() {
    genesis(this.dag);
    for (const v of this.views) for (const id of this.dag.order) v.learn(this.dag.get(id));
  }

  /** `server` learns everything `from` knows, in the order the DAG was written. */
  sync(server: number, from: number): void {
    const target = this.views[server];
    const source = this.views[from];
    for (const id of this.dag.order) if (source.known.has(id)) target.learn(this.dag.get(id));
  }

  syncAll(): void {
    for (let i = 0; i < SERVERS.length; i++) for (let j = 0; j < SERVERS.length; j++) if (i !== j) this.sync(i, j);
  }

  /** Tries `action` by each user of the server in turn until the auth rules allow one. */
  write(server: number, prevs: string[], action: string, rotate: number, c: number): StoredEvent | undefined {
    const users = USERS_BY_SERVER[SERVERS[server]];
    const before = this.dag.stateBefore(prevs);
    this.clocks[server] += (c % 3) * 1000;
    for (let i = 0; i < users.length; i++) {
      const draft = ACTIONS[action](users[(rotate + i) % users.length], before, c);
      if (!draft) continue;
      const ev = this.dag.tryAdd({ ...draft, prevs, ts: this.clocks[server] });
      if (ev) {
        this.views[server].learn(ev);
        return ev;
      }
    }
    return undefined;
  }

  step(s: Step): void {
    const view = this.views[s.server];
    if (s.op < 20) return this.sync(s.server, (s.server + 1 + (s.a % 2)) % SERVERS.length);
    const action = ACTION_WHEEL[s.a % ACTION_WHEEL.length];
    let prevs: string[];
    if (s.op < 24) prevs = [view.order[view.order.length - 1 - (s.b % Math.min(8, view.order.length))]]; // fork from recent history
    else if (s.op < 34) prevs = [[...view.tips][s.b % view.tips.size]];
    else prevs = [...view.tips].sort();
    this.write(s.server, prevs, action, s.b, s.c);
  }

  run(steps: Step[]): this {
    for (const s of steps) this.step(s);
    this.syncAll();
    return this;
  }

  /** The resolved state over the whole DAG's forward extremities. */
  finalState(): StateMap {
    const tips = this.dag.extremities();
    return tips.length === 1 ? (this.dag.after.get(tips[0]) as StateMap) : resolveState(tips.map((t) => this.dag.after.get(t) as StateMap), this.dag.lookup);
  }
}

export interface Replay {
  final: string;
  /** Events the receiving server refused (against their auth events or the state before them). */
  rejected: string[];
}

/**
 * A fresh server receiving the DAG's events in `order` (which must list parents first):
 * it sees only events already delivered, computes each state before by resolving over
 * the prev_events' states (passed in its own arrival order, latest first), checks each
 * event as federation does, and finally resolves over its forward extremities.
 */
export function replay(dag: Dag, order: readonly string[]): Replay {
  const arrived = new Map<string, number>();
  const after = new Map<string, StateMap>();
  const tips = new Set<string>();
  const lookup: EventLookup = (id) => (arrived.has(id) ? dag.events.get(id) : undefined);
  const rejected: string[] = [];
  const byArrival = (ids: Iterable<string>): StateMap[] =>
    [...ids].sort((x, y) => (arrived.get(y) as number) - (arrived.get(x) as number)).map((id) => after.get(id) as StateMap);
  for (const id of order) {
    const ev = dag.get(id);
    const prevs = ev.pdu.prev_events;
    if (!prevs.every((p) => arrived.has(p))) throw new Error('order is not topological');
    const states = byArrival(prevs);
    const before = states.length === 0 ? new Map() : states.length === 1 ? states[0] : resolveState(states, lookup);
    arrived.set(id, arrived.size);
    const ok = authorizeEvent(ev, authEventsState(ev, lookup)).ok && authorizeEvent(ev, before).ok;
    if (!ok) rejected.push(id);
    after.set(id, ok && ev.pdu.state_key !== undefined ? applyToState(before, ev) : before);
    for (const p of prevs) tips.delete(p);
    tips.add(id);
  }
  const finals = byArrival(tips);
  return { final: fingerprint(finals.length === 1 ? finals[0] : resolveState(finals, lookup)), rejected };
}

/** A random order that lists every event after its prev_events (Kahn's, with random picks). */
export function randomTopologicalOrder(dag: Dag, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const rand = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const waiting = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const id of dag.order) {
    const prevs = dag.get(id).pdu.prev_events;
    waiting.set(id, prevs.length);
    for (const p of prevs) children.set(p, [...(children.get(p) ?? []), id]);
  }
  const ready = dag.order.filter((id) => waiting.get(id) === 0);
  const out: string[] = [];
  while (ready.length > 0) {
    const [id] = ready.splice(rand(ready.length), 1);
    out.push(id);
    for (const ch of children.get(id) ?? []) {
      const n = (waiting.get(ch) as number) - 1;
      waiting.set(ch, n);
      if (n === 0) ready.push(ch);
    }
  }
  return out;
}
