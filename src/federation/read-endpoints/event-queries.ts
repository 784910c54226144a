// The read endpoints' narrow view of the log (DESIGN habit 1: route handlers build no SQL).
// Everything here reads the `events` table only: the state of an event comes from the
// injected state functions, never from the state-group tables directly.
import type { Pdu, StoredEvent } from '../../events/event-types.js';
import type { Db } from '../../store/database.js';

/** An event with its log position (used to prefetch the events logged just before it). */
export interface RoomEvent extends StoredEvent {
  position: string;
}

/** Loads the events with the given ids that exist *in one room*; unknown ids are absent. */
export type EventLoader = (ids: readonly string[]) => Promise<ReadonlyMap<string, StoredEvent>>;

/** Ids per `IN (...)` query: far below Postgres's 65,535 bind parameters. */
const ID_CHUNK = 500;

type Row = { event_id: string; pdu: string; position: string };

function toRoomEvent(row: Row): RoomEvent {
  return { event_id: row.event_id, pdu: JSON.parse(row.pdu) as Pdu, position: String(row.position) };
}

/** Any room's event by id. */
export async function selectEventById(db: Db, eventId: string): Promise<RoomEvent | undefined> {
  const row = await db.selectFrom('events').select(['event_id', 'pdu', 'position']).where('event_id', '=', eventId).executeTakeFirst();
  return row ? toRoomEvent(row) : undefined;
}

/** The events of `roomId` among `ids` (an id of another room is as good as unknown). */
export async function selectRoomEventsByIds(db: Db, roomId: string, ids: readonly string[]): Promise<RoomEvent[]> {
  const out: RoomEvent[] = [];
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const rows = await db.selectFrom('events').select(['event_id', 'pdu', 'position'])
      .where('room_id', '=', roomId).where('event_id', 'in', ids.slice(i, i + ID_CHUNK)).execute();
    for (const row of rows) out.push(toRoomEvent(row));
  }
  return out;
}

/** The room's `limit` events logged last before `position` (newest first), via events_by_room. */
export async function selectRoomEventsBefore(db: Db, roomId: string, position: string, limit: number): Promise<RoomEvent[]> {
  const rows = await db.selectFrom('events').select(['event_id', 'pdu', 'position'])
    .where('room_id', '=', roomId).where('position', '<', position)
    .orderBy('position', 'desc').limit(limit).execute();
  return rows.map(toRoomEvent);
}

/**
 * A per-request loader of one room's events, with a cache. With `prefetch` > 0, every
 * lookup that has to go to the database also reads the `prefetch` events logged just
 * before the newest event it found: prev events are nearly always logged shortly before
 * their children, so walking a mostly linear history back costs a couple of queries
 * instead of one per DAG level. The prefetch only warms the cache; what a walk returns
 * never depends on it.
 */
export function createRoomEventLoader(db: Db, roomId: string, opts: { prefetch?: number } = {}): EventLoader {
  const prefetch = opts.prefetch ?? 0;
  const cache = new Map<string, RoomEvent | null>(); // null: not an event of this room
  return async (ids) => {
    const wanted = [...new Set(ids)];
    const misses = wanted.filter((id) => !cache.has(id));
    if (misses.length > 0) {
      const found = await selectRoomEventsByIds(db, roomId, misses);
      for (const id of misses) cache.set(id, null);
      for (const e of found) cache.set(e.event_id, e);
      if (prefetch > 0 && found.length > 0) {
        const newest = found.reduce((a, b) => (BigInt(a.position) >= BigInt(b.position) ? a : b));
        for (const e of await selectRoomEventsBefore(db, roomId, newest.position, prefetch)) {
          if (!cache.has(e.event_id)) cache.set(e.event_id, e);
        }
      }
    }
    const out = new Map<string, StoredEvent>();
    for (const id of wanted) {
      const e = cache.get(id);
      if (e) out.set(id, e);
    }
    return out;
  };
}
