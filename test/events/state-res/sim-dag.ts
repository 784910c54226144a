// A guild DAG for the state resolution tests: real events (hashed, Ed25519-signed, ids
// derived) from three servers "a", "b", "c", with each event's state-after computed the
// way a server does (state before = resolution of the states after its prev_events).
//
// Keys come from fixed seeds rather than generateSigningKey, so that event ids, and with
// them every tie-break, are the same on each run and fast-check can replay a failure.

import { createHash } from 'node:crypto';
import { serverOf, type StoredEvent, type UnsignedPdu } from '../../../src/events/event-types.js';
import { authorizeEvent } from '../../../src/events/auth-rules.js';
import { selectAuthEvents } from '../../../src/events/auth-events.js';
import { finalizeEvent } from '../../../src/events/finalize-event.js';
import { signPdu } from '../../../src/events/signing.js';
import { signingKeyFromSeed, type SigningKey } from '../../../src/events/signing-key.js';
import { applyToState, type StateMap } from '../../../src/events/state-map.js';
import type { EventLookup } from '../../../src/events/state-res/auth-chain.js';
import { resolveStateDetailed, type Resolution } from '../../../src/events/state-res/resolve-state.js';

export const SERVERS = ['a', 'b', 'c'] as const;
export type ServerName = (typeof SERVERS)[number];
export const ROOM = '!guild:a';

const KEYS = new Map<string, SigningKey>(
  SERVERS.map((s) => [s, signingKeyFromSeed(createHash('sha256').update(`nexus state-res test ${s}`).digest(), 'k1')]),
);

export function keyOf(server: string): SigningKey {
  const k = KEYS.get(server);
  if (!k) throw new Error(`no key for server ${server}`);
  return k;
}

/** A canonical hash of a state: its (type, state_key) → event_id pairs, sorted. */
export function fingerprint(state: StateMap): string {
  const pairs = [...state].map(([k, ev]) => `${JSON.stringify(k)}=${ev.event_id}`).sort();
  return createHash('sha256').update(pairs.join('\n')).digest('hex');
}

export interface EventSpec {
  prevs: string[];
  type: string;
  sender: string;
  content: Record<string, unknown>;
  stateKey?: string;
  ts: number;
  /** Servers besides the origin that sign (the authoriser's server of an authorised join). */
  cosign?: string[];
}

/** Counters over the resolutions a DAG ran, to check the tests reach the interesting cases. */
export interface ResolutionStats {
  merges: number;
  conflicted: number;
  dropped: number;
}

export class Dag {
  readonly events = new Map<string, StoredEvent>();
  readonly after = new Map<string, StateMap>();
  readonly order: string[] = [];
  readonly stats: ResolutionStats = { merges: 0, conflicted: 0, dropped: 0 };
  private readonly beforeCache = new Map<string, StateMap>();
  readonly lookup: EventLookup = (id) => this.events.get(id);

  get(id: string): StoredEvent {
    const ev = this.events.get(id);
    if (!ev) throw new Error(`unknown event ${id}`);
    return ev;
  }

  /** The resolution of the states after `prevs` (with its trace when there was a merge). */
  resolveDetailed(prevs: string[]): Resolution {
    this.stats.merges++;
    const r = resolveStateDetailed(
      prevs.map((p) => this.after.get(p) as StateMap),
      this.lookup,
    );
    if (r.conflicted.length > 0) this.stats.conflicted++;
    if (r.dropped.length > 0) this.stats.dropped++;
    return r;
  }

  stateBefore(prevs: string[]): StateMap {
    if (prevs.length === 0) return new Map();
    if (prevs.length === 1) return this.after.get(prevs[0]) as StateMap;
    const key = [...prevs].sort().join(',');
    let s = this.beforeCache.get(key);
    if (!s) {
      s = this.resolveDetailed(prevs).state;
      this.beforeCache.set(key, s);
    }
    return s;
  }

  /** The event as it would be built on the state before it, not yet hashed or signed. */
  private draft(spec: EventSpec, before: StateMap): UnsignedPdu {
    const unsigned: UnsignedPdu = {
      room_id: ROOM,
      type: spec.type,
      sender: spec.sender,
      origin: serverOf(spec.sender),
      origin_server_ts: spec.ts,
      depth: 1 + Math.max(0, ...spec.prevs.map((p) => this.get(p).pdu.depth)),
      prev_events: [...spec.prevs],
      auth_events: selectAuthEvents(spec.type, spec.stateKey, spec.sender, spec.content, before),
      content: spec.content,
    };
    if (spec.stateKey !== undefined) unsigned.state_key = spec.stateKey;
    return unsigned;
  }

  /** Judges a draft with placeholder signatures (the rules only look for their presence). */
  private judge(spec: EventSpec, draft: UnsignedPdu, before: StateMap): ReturnType<typeof authorizeEvent> {
    const sigs: Record<string, Record<string, string>> = { [draft.origin]: { 'ed25519:k1': 'x' } };
    for (const s of spec.cosign ?? []) sigs[s] = { 'ed25519:k1': 'x' };
    return authorizeEvent({ ...draft, hashes: { sha256: 'x' }, signatures: sigs }, before);
  }

  /** Builds the event if the auth rules allow it on the state before it; else undefined. */
  tryAdd(spec: EventSpec): StoredEvent | undefined {
    const before = this.stateBefore(spec.prevs);
    const draft = this.draft(spec, before);
    // Judge before signing: signing costs more than the rules, and most random tries fail.
    if (!this.judge(spec, draft, before).ok) return undefined;
    let ev = finalizeEvent(draft, draft.origin, keyOf(draft.origin));
    for (const s of spec.cosign ?? []) if (s !== draft.origin) ev = { ...ev, pdu: signPdu(ev.pdu, s, keyOf(s)) };
    // Ids are content hashes: writing the very same event twice gives the one event back.
    const existing = this.events.get(ev.event_id);
    if (existing) return existing;
    this.events.set(ev.event_id, ev);
    this.order.push(ev.event_id);
    this.after.set(ev.event_id, spec.stateKey === undefined ? before : applyToState(before, ev));
    return ev;
  }

  /** tryAdd, for hand-built DAGs where every event must be allowed. */
  add(spec: EventSpec): StoredEvent {
    const ev = this.tryAdd(spec);
    if (ev) return ev;
    const before = this.stateBefore(spec.prevs);
    const why = this.judge(spec, this.draft(spec, before), before);
    throw new Error(`event refused: ${spec.type} by ${spec.sender}: ${why.ok ? '?' : why.reason}`);
  }

  /** Events with no children (the forward extremities of the whole DAG). */
  extremities(): string[] {
    const parents = new Set<string>();
    for (const ev of this.events.values()) for (const p of ev.pdu.prev_events) parents.add(p);
    return this.order.filter((id) => !parents.has(id));
  }
}
