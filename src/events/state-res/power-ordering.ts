// The reverse topological power ordering (spec/state-resolution.md): the order in which
// conflicted power events are replayed. An event always comes after every event of the
// set in its auth chain; among events free to go next, the one with the greatest *reach*
// goes first (the greatest sender power among itself and the events of the set that have
// it in their auth chain), then the greater sender power, the earlier origin_server_ts,
// the smaller event id.
//
// Matrix ranks by the sender's own power only. Then a weak event that a strong one builds
// on (the demoter's own join, at power 0, below the owner's promotion of the demoter and
// the demotion itself) waits behind concurrent events of middling power, and those slip in
// before the demotion. Ranking by reach replays everything a stronger event stands on
// before any weaker concurrent event: reach never grows along auth edges, so Kahn's
// algorithm emits the set in order of decreasing reach.

import type { StoredEvent } from '../event-types.js';
import { authEventIds, foldAuthDag, type EventLookup } from './auth-chain.js';
import { senderPower } from './power-events.js';

interface Ranked {
  ev: StoredEvent;
  reach: number;
  power: number;
  ts: number;
}

/** origin_server_ts as a number (the auth rules do not check it; odd values count as 0). */
export function timestampOf(ev: StoredEvent): number {
  const ts = ev.pdu?.origin_server_ts;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : 0;
}

/** Event ids compare by UTF-16 code units; for the ASCII ids of the spec that is byte order. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function before(x: Ranked, y: Ranked): boolean {
  if (x.reach !== y.reach) return x.reach > y.reach;
  if (x.power !== y.power) return x.power > y.power;
  if (x.ts !== y.ts) return x.ts < y.ts;
  return x.ev.event_id < y.ev.event_id;
}

const EMPTY: ReadonlySet<string> = new Set();

/**
 * For each event of `set`, the events of `set` it must follow: those reachable through
 * auth_events by a path that meets no other event of `set` on the way. Following these
 * edges respects the whole auth chain, even where the chain runs through events outside
 * the set.
 */
export function predecessorsWithin(set: ReadonlyMap<string, StoredEvent>, lookup: EventLookup): Map<string, ReadonlySet<string>> {
  const memo = new Map<string, ReadonlySet<string>>();
  const leaf = (ev: StoredEvent): ReadonlySet<string> | undefined => (set.has(ev.event_id) ? new Set([ev.event_id]) : undefined);
  const union = (_ev: StoredEvent, children: ReadonlySet<string>[]): ReadonlySet<string> => {
    const nonEmpty = children.filter((c) => c.size > 0);
    if (nonEmpty.length === 0) return EMPTY;
    if (nonEmpty.length === 1) return nonEmpty[0];
    const out = new Set<string>();
    for (const c of nonEmpty) for (const id of c) out.add(id);
    return out;
  };
  const preds = new Map<string, ReadonlySet<string>>();
  for (const ev of set.values()) {
    const auth = authEventIds(ev);
    foldAuthDag(auth, lookup, union, memo, leaf);
    const mine = new Set<string>();
    for (const id of auth) for (const p of memo.get(id) ?? EMPTY) if (p !== ev.event_id) mine.add(p);
    preds.set(ev.event_id, mine);
  }
  return preds;
}

/**
 * Each event's reach: the greatest sender power among the event and every event of the
 * set that has it in its auth chain (following `preds` transitively).
 */
export function reachOf(
  power: ReadonlyMap<string, number>,
  preds: ReadonlyMap<string, ReadonlySet<string>>,
): Map<string, number> {
  // Visit events after all their successors: a depth-first post-order over preds lists
  // predecessors first, so walk it backwards.
  const post: string[] = [];
  const seen = new Set<string>();
  for (const root of preds.keys()) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: [string, Iterator<string>][] = [[root, (preds.get(root) ?? EMPTY).values()]];
    while (stack.length > 0) {
      const [id, it] = stack[stack.length - 1];
      const next = it.next();
      if (next.done) {
        post.push(id);
        stack.pop();
      } else if (!seen.has(next.value) && preds.has(next.value)) {
        seen.add(next.value);
        stack.push([next.value, (preds.get(next.value) ?? EMPTY).values()]);
      }
    }
  }
  const reach = new Map<string, number>();
  for (const id of post) reach.set(id, power.get(id) ?? 0);
  for (let i = post.length - 1; i >= 0; i--) {
    const id = post[i];
    const r = reach.get(id) as number;
    for (const p of preds.get(id) ?? EMPTY) if ((reach.get(p) as number) < r) reach.set(p, r);
  }
  return reach;
}

/** Kahn's algorithm, taking the smallest ready event by (reach desc, power desc, ts asc, id asc). */
export function reverseTopologicalPowerOrder(events: Iterable<StoredEvent>, lookup: EventLookup): StoredEvent[] {
  const set = new Map<string, StoredEvent>();
  for (const ev of events) set.set(ev.event_id, ev);
  const preds = predecessorsWithin(set, lookup);
  const power = new Map<string, number>();
  for (const ev of set.values()) power.set(ev.event_id, senderPower(ev, lookup));
  const reach = reachOf(power, preds);
  const ranked = new Map<string, Ranked>();
  for (const ev of set.values()) {
    const id = ev.event_id;
    ranked.set(id, { ev, reach: reach.get(id) as number, power: power.get(id) as number, ts: timestampOf(ev) });
  }

  const waiting = new Map<string, number>();
  const successors = new Map<string, string[]>();
  for (const [id, ps] of preds) {
    waiting.set(id, ps.size);
    for (const p of ps) {
      const list = successors.get(p);
      if (list) list.push(id);
      else successors.set(p, [id]);
    }
  }
  const ready = new RankedHeap();
  for (const [id, n] of waiting) if (n === 0) ready.push(ranked.get(id) as Ranked);
  const out: StoredEvent[] = [];
  while (ready.size > 0) {
    const next = ready.pop();
    out.push(next.ev);
    for (const s of successors.get(next.ev.event_id) ?? []) {
      const n = (waiting.get(s) as number) - 1;
      waiting.set(s, n);
      if (n === 0) ready.push(ranked.get(s) as Ranked);
    }
  }
  if (out.length < set.size) {
    // Only a broken lookup can make a cycle; keep the result total and deterministic.
    const emitted = new Set(out.map((e) => e.event_id));
    const rest = [...ranked.values()].filter((r) => !emitted.has(r.ev.event_id));
    rest.sort((x, y) => (before(x, y) ? -1 : before(y, x) ? 1 : 0));
    for (const r of rest) out.push(r.ev);
  }
  return out;
}

/** A binary min-heap under `before`. */
class RankedHeap {
  private items: Ranked[] = [];

  get size(): number {
    return this.items.length;
  }

  push(r: Ranked): void {
    const a = this.items;
    a.push(r);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  pop(): Ranked {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as Ranked;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
