// What the sender needs to know about rooms, read from the projections: which servers have
// joined members, and which rooms are account rooms (private, never federated).
import { sql } from 'kysely';
import { EventType, type Pdu } from '../../events/event-types.js';
import type { Db } from '../../store/database.js';
import { isAccountRoom } from '../../store/projections/project-event.js';

/**
 * Per room, the servers of its joined members, now. (The outbox is filled from the current
 * membership, not the membership at each event: when the feeder lags, a server that joined
 * meanwhile also gets the events it missed, which the receiver accepts or fetches around.)
 */
export async function joinedServersByRoom(db: Db, roomIds: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>(roomIds.map((r) => [r, new Set<string>()]));
  if (roomIds.length === 0) return out;
  // The server of `@local:server` is everything after the first colon (serverOf): a port
  // stays part of it. DISTINCT in SQL, so a big guild sends back one row per server.
  const rows = await db
    .selectFrom('members')
    .select(['room_id', sql<string>`substr(user_id, strpos(user_id, ':') + 1)`.as('server')])
    .distinct()
    .where('room_id', 'in', [...roomIds])
    .where('membership', '=', 'join')
    .execute();
  for (const r of rows) out.get(r.room_id)?.add(r.server);
  return out;
}

/** The rooms among `roomIds` whose create event says they are account rooms. */
export async function accountRoomsAmong(db: Db, roomIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (roomIds.length === 0) return out;
  const rows = await db
    .selectFrom('room_state as s')
    .innerJoin('events as e', 'e.event_id', 's.event_id')
    .select(['e.room_id', 'e.pdu'])
    .where('s.room_id', 'in', [...roomIds])
    .where('s.type', '=', EventType.Create)
    .where('s.state_key', '=', '')
    .execute();
  for (const r of rows) {
    // Given the create event itself, isAccountRoom reads the kind from its content.
    if (isAccountRoom(JSON.parse(r.pdu) as Pdu, new Map())) out.add(r.room_id);
  }
  return out;
}
