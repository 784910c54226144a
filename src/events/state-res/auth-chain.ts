// Walking the auth DAG (the graph of `auth_events` links) for state resolution
// (spec/state-resolution.md, "Definitions"). Pure; events come from a caller-supplied lookup.
//
// Every walk here is iterative: a guild's auth chain can be thousands of events deep
// (each join authorised by the previous joiner), far past the JS recursion limit.

import type { StoredEvent } from '../event-types.js';

/** Finds an event by id among the events the caller holds (the store, or a fetched chain). */
export type EventLookup = (eventId: string) => StoredEvent | undefined;

/** The event's auth_events as a clean list of strings (an event is untrusted input). */
export function authEventIds(ev: StoredEvent): string[] {
  const ids = ev.pdu?.auth_events;
  return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
}

/**
 * The ids of `starts` and of every event reachable from them through auth_events, that
 * `lookup` knows (unknown ids are neither listed nor walked: a server resolves only over
 * the chain it holds). Events in `stop` are neither listed nor walked past: the caller
 * already knows everything below them.
 */
export function authClosure(
  starts: Iterable<StoredEvent>,
  lookup: EventLookup,
  stop?: ReadonlySet<string>,
): Set<string> {
  const seen = new Set<string>();
  const stack: StoredEvent[] = [];
  for (const ev of starts) {
    if (seen.has(ev.event_id) || stop?.has(ev.event_id)) continue;
    seen.add(ev.event_id);
    stack.push(ev);
  }
  while (stack.length > 0) {
    const ev = stack.pop() as StoredEvent;
    for (const id of authEventIds(ev)) {
      if (seen.has(id) || stop?.has(id)) continue;
      const next = lookup(id);
      if (!next) continue;
      seen.add(id);
      stack.push(next);
    }
  }
  return seen;
}

/**
 * A memoised bottom-up fold over the auth DAG below `roots`: value(e) = combine(e, the
 * values of e's known auth events). `leaf(e)`, when it returns a value, fixes e's value
 * without walking below it. Values land in `memo` (pass the same map to share work
 * between calls). Event ids are hashes of content that names the auth events, so a cycle
 * cannot occur honestly; if a broken lookup produced one, the edge closing it is ignored.
 */
export function foldAuthDag<T>(
  roots: Iterable<string>,
  lookup: EventLookup,
  combine: (ev: StoredEvent, children: T[]) => T,
  memo: Map<string, T>,
  leaf?: (ev: StoredEvent) => T | undefined,
): void {
  const onPath = new Set<string>();
  for (const root of roots) {
    if (memo.has(root)) continue;
    const stack: string[] = [root];
    while (stack.length > 0) {
      const id = stack[stack.length - 1];
      if (memo.has(id)) {
        stack.pop();
        continue;
      }
      const ev = lookup(id);
      if (!ev) {
        stack.pop(); // unknown: contributes nothing
        continue;
      }
      if (!onPath.has(id)) {
        const fixed = leaf?.(ev);
        if (fixed !== undefined) {
          memo.set(id, fixed);
          stack.pop();
          continue;
        }
        onPath.add(id);
        for (const child of authEventIds(ev)) {
          if (!memo.has(child) && !onPath.has(child) && lookup(child)) stack.push(child);
        }
        continue; // come back once the children are done
      }
      const children: T[] = [];
      for (const child of authEventIds(ev)) {
        const v = memo.get(child);
        if (v !== undefined) children.push(v);
      }
      memo.set(id, combine(ev, children));
      onPath.delete(id);
      stack.pop();
    }
  }
}
