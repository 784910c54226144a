// Walks back over a guild's DAG for backfill and get_missing_events
// (spec/federation.md, Endpoints). They only see events through an EventLoader, so they
// are independent of the store, and every step loads a whole set of ids at once.
import type { StoredEvent } from '../../events/event-types.js';
import type { EventLoader } from './event-queries.js';

/** (depth, event_id) ascending: oldest first, ties broken by id so every server agrees. */
export function byDepthThenId(a: StoredEvent, b: StoredEvent): number {
  const d = a.pdu.depth - b.pdu.depth;
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;
}

/** The event ids an event cites (prev_events or auth_events); odd entries are skipped. */
export function citedIds(list: unknown): string[] {
  return Array.isArray(list) ? list.filter((id): id is string => typeof id === 'string') : [];
}

/** Removes and returns the newest event of a non-empty list (the list stays small). */
function popNewest(frontier: StoredEvent[]): StoredEvent {
  let best = 0;
  for (let i = 1; i < frontier.length; i++) if (byDepthThenId(frontier[i], frontier[best]) > 0) best = i;
  return frontier.splice(best, 1)[0];
}

/**
 * backfill: from the `from` events (inclusive), repeatedly take the newest event not yet
 * taken whose child was taken (a priority walk by (depth, id) descending, as Synapse's
 * backfill does), at most `limit`. Returned in the order taken: newest first. When depths
 * grow along the DAG, as they do for valid events, this is the `limit` newest ancestors.
 */
export async function walkBackfill(load: EventLoader, from: readonly string[], limit: number): Promise<StoredEvent[]> {
  const queued = new Set(from);
  const frontier = [...(await load([...queued])).values()];
  const taken: StoredEvent[] = [];
  while (frontier.length > 0 && taken.length < limit) {
    const ev = popNewest(frontier);
    taken.push(ev);
    if (taken.length === limit) break;
    const prevs = citedIds(ev.pdu.prev_events).filter((id) => !queued.has(id));
    for (const id of prevs) queued.add(id);
    if (prevs.length > 0) frontier.push(...(await load(prevs)).values());
  }
  return taken;
}

export interface MissingEventsQuery {
  earliest: readonly string[];
  latest: readonly string[];
  limit: number;
  minDepth: number;
}

/**
 * get_missing_events: level by level back from the prev events of `latest` (which are
 * themselves never returned), neither returning nor walking through an event of
 * `earliest` or one below `minDepth`, until `limit` events are taken. When a level holds
 * more than the room left, its newest events are taken (closest to `latest`, which is
 * where the asker's gap is). Returned oldest first, by (depth, id).
 */
export async function walkMissingEvents(load: EventLoader, q: MissingEventsQuery): Promise<StoredEvent[]> {
  const seen = new Set([...q.earliest, ...q.latest]);
  let level = [...(await load(q.latest)).values()];
  const taken: StoredEvent[] = [];
  while (level.length > 0 && taken.length < q.limit) {
    const ids: string[] = [];
    for (const ev of level) {
      for (const id of citedIds(ev.pdu.prev_events)) {
        if (seen.has(id)) continue;
        seen.add(id);
        ids.push(id);
      }
    }
    if (ids.length === 0) break;
    const loaded = [...(await load(ids)).values()].filter((e) => e.pdu.depth >= q.minDepth);
    level = loaded.sort(byDepthThenId).reverse().slice(0, q.limit - taken.length);
    taken.push(...level);
  }
  return taken.sort(byDepthThenId);
}
