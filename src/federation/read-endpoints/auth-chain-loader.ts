// The auth chain that goes with a state (spec/federation.md, GET state): what a server that
// receives the state needs to check every state event against the auth rules.
import type { StoredEvent } from '../../events/event-types.js';
import type { Db } from '../../store/database.js';
import { byDepthThenId, citedIds } from './dag-walk.js';
import { createRoomEventLoader, type EventLoader } from './event-queries.js';

/**
 * Every event reachable from `events` through auth_events, excluding `events` themselves,
 * sorted by (depth, id). Auth events we do not hold, or that belong to another room, are
 * skipped (we cannot serve them). One batched load per level of the chain.
 */
export async function walkAuthChain(load: EventLoader, events: Iterable<StoredEvent>): Promise<StoredEvent[]> {
  let level = [...events];
  const seen = new Set(level.map((e) => e.event_id));
  const chain: StoredEvent[] = [];
  while (level.length > 0) {
    const ids: string[] = [];
    for (const ev of level) {
      for (const id of citedIds(ev.pdu.auth_events)) {
        if (seen.has(id)) continue;
        seen.add(id);
        ids.push(id);
      }
    }
    if (ids.length === 0) break;
    level = [...(await load(ids)).values()];
    chain.push(...level);
  }
  return chain.sort(byDepthThenId);
}

/** The auth chain of the given events of `roomId`, read from the log. Auth events are
 *  scattered over the log (create, roles, memberships), so no prefetch. */
export function loadAuthChain(db: Db, roomId: string, events: Iterable<StoredEvent>): Promise<StoredEvent[]> {
  return walkAuthChain(createRoomEventLoader(db, roomId), events);
}
