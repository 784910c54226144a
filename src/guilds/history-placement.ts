import type { StoredEvent } from '../events/event-types.js';
import { DISCORD_EPOCH } from '../snowflake.js';

/**
 * Where history fetched from a peer goes in this server's timeline. A message's snowflake
 * comes from the time its event entered our log (snowflake.ts), so history stored now
 * would sort as the newest messages. Instead each fetched event is placed at its own
 * `origin_server_ts`, but never at or after `before` (the earliest time in the guild's log;
 * for a gap, the event after it, then the oldest history placed in it) nor later than a
 * newer event of the same page: a peer's clock,
 * or a dishonest peer, can then only reorder that peer's history among itself, and it
 * stays older than every message already shown. Ties keep the order of the page (the log
 * position breaks them), and nothing is placed before Discord's epoch.
 *
 * `events` are oldest first (by depth), as they will be appended.
 */
export function placeHistory(events: readonly StoredEvent[], before: number): Map<string, number> {
  const placed = new Map<string, number>();
  const epoch = Number(DISCORD_EPOCH);
  let ceiling = before - 1;
  for (let i = events.length - 1; i >= 0; i--) {
    const ts = events[i].pdu.origin_server_ts;
    ceiling = Math.max(epoch, Number.isSafeInteger(ts) ? Math.min(ts, ceiling) : ceiling);
    placed.set(events[i].event_id, ceiling);
  }
  return placed;
}
