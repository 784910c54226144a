import { sql } from 'kysely';
import { applyInPlace } from '../events/state-map.js';
import { notifyOnCommit, type Db } from './database.js';
import { insertEvents, type LoggedEvent } from './event-log.js';
import { projectEvent } from './projections/project-event.js';
import { projectMessages } from './projections/message-projection.js';
import { EventType, type StoredEvent } from '../events/event-types.js';

/** The channel on which every append is announced (LISTEN/NOTIFY wakes log readers). */
export const LOG_NOTIFY_CHANNEL = 'nexus_log';

/** A room's head: the expected version for the next append, and the DAG's tips. */
export interface RoomHead {
  roomId: string;
  version: number; // events appended to this room so far (0: the room does not exist yet)
  depth: number;
  extremities: string[];
}

/** Another writer appended to the room since its head was read: reload and retry. */
export class ConcurrencyError extends Error {
  constructor(roomId: string) {
    super(`room ${roomId} was appended to concurrently`);
  }
}

export async function loadRoomHead(db: Db, roomId: string): Promise<RoomHead> {
  const row = await db.selectFrom('rooms').select(['version', 'depth', 'forward_extremities']).where('room_id', '=', roomId).executeTakeFirst();
  if (!row) return { roomId, version: 0, depth: 0, extremities: [] };
  return { roomId, version: Number(row.version), depth: Number(row.depth), extremities: row.forward_extremities };
}

/** The head after appending `events` (already authorized, in order) to `head`. */
export function advanceHead(head: RoomHead, events: StoredEvent[]): RoomHead {
  const referenced = new Set(events.flatMap((e) => e.pdu.prev_events));
  const tips = [...head.extremities, ...events.map((e) => e.event_id)].filter((id) => !referenced.has(id));
  return {
    roomId: head.roomId,
    version: head.version + events.length,
    depth: Math.max(head.depth, ...events.map((e) => e.pdu.depth)),
    extremities: [...new Set(tips)].sort(),
  };
}

/**
 * The one append path, for local and remote events alike: in one transaction, check the
 * room's expected version, write the log rows, project them into the views (advancing
 * `state` in place as state events go by), move the head, and notify log readers on commit.
 * Authorization happens before this (the caller holds the state the events were checked
 * against); this function only writes.
 */
export async function appendToRoom(
  db: Db,
  head: RoomHead,
  events: StoredEvent[],
  state: Map<string, StoredEvent>,
  receivedTs: number,
): Promise<{ logged: LoggedEvent[]; head: RoomHead }> {
  const next = advanceHead(head, events);
  const logged = await db.transaction().execute(async (trx) => {
    const rows = await insertEvents(trx, events, receivedTs);
    const lastPosition = rows[rows.length - 1].position;
    if (head.version === 0) {
      const inserted = await trx.insertInto('rooms')
        .values({ room_id: head.roomId, version: next.version, last_position: lastPosition, depth: next.depth, forward_extremities: JSON.stringify(next.extremities) })
        .onConflict((oc) => oc.column('room_id').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) throw new ConcurrencyError(head.roomId);
    } else {
      const updated = await trx.updateTable('rooms')
        .set({ version: next.version, last_position: lastPosition, depth: next.depth, forward_extremities: JSON.stringify(next.extremities) })
        .where('room_id', '=', head.roomId).where('version', '=', head.version).executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new ConcurrencyError(head.roomId);
    }
    for (let i = 0; i < rows.length; ) {
      if (rows[i].pdu.type === EventType.Message) {
        // A run of messages changes no state: project it in one go.
        let j = i + 1;
        while (j < rows.length && rows[j].pdu.type === EventType.Message) j++;
        await projectMessages(trx, rows.slice(i, j));
        i = j;
      } else {
        await projectEvent(trx, rows[i], state);
        applyInPlace(state, rows[i]);
        i++;
      }
    }
    await notifyOnCommit(trx, LOG_NOTIFY_CHANNEL);
    return rows;
  });
  return { logged, head: next };
}

/** Loads a room's current state from the room_state projection. */
export async function loadRoomState(db: Db, roomId: string): Promise<Map<string, StoredEvent>> {
  const { rows } = await sql<{ event_id: string; pdu: string }>`
    SELECT e.event_id, e.pdu FROM room_state s JOIN events e ON e.event_id = s.event_id
    WHERE s.room_id = ${roomId}`.execute(db);
  const state = new Map<string, StoredEvent>();
  for (const row of rows) applyInPlace(state, { event_id: row.event_id, pdu: JSON.parse(row.pdu) });
  return state;
}
