import { sql } from 'kysely';
import { EventType } from '../events/event-types.js';
import type { Pdu, StoredEvent } from '../events/event-types.js';
import type { Db } from './database.js';

/** An event as it sits in this server's log. */
export interface LoggedEvent extends StoredEvent {
  position: string;
  received_ts: number;
  /**
   * Set by readLogAfter: the event is in the log but not in our DAG (state and history a
   * peer sent with a join or for a gap), so it is not news to dispatch.
   */
  outlier?: boolean;
  /** Set by readLogAfter: the event itself is not in the views (soft-failed, kept redacted, or a state event placed by a resolution). */
  hidden?: boolean;
  /** Set by readLogAfter: the room's current state after the event came from a state resolution (a fork merged). */
  resolved?: boolean;
}

/** Where a reader of the log has got to: events are read in (txid, position) order. */
export interface LogCursor {
  txid: string;
  position: string;
}

export const LOG_START: LogCursor = { txid: '0', position: '0' };

/**
 * Appends events to the log (one multi-row insert) and returns them with their positions.
 * `receivedTs` is when they arrived, or per event where history fetched from a peer is
 * placed in this server's timeline (history-placement.ts).
 */
export async function insertEvents(trx: Db, events: StoredEvent[], receivedTs: number | ((ev: StoredEvent) => number)): Promise<LoggedEvent[]> {
  if (events.length === 0) return [];
  const tsOf = typeof receivedTs === 'number' ? () => receivedTs : receivedTs;
  const rows = await trx
    .insertInto('events')
    .values(
      events.map(({ event_id, pdu }) => ({
        event_id,
        room_id: pdu.room_id,
        type: pdu.type,
        state_key: pdu.state_key ?? null,
        sender: pdu.sender,
        origin: pdu.origin,
        depth: pdu.depth,
        received_ts: tsOf({ event_id, pdu }),
        pdu: JSON.stringify(pdu),
      })),
    )
    .returning(['event_id', 'position'])
    .execute();
  const positions = new Map(rows.map((r) => [r.event_id, r.position]));
  return events.map((e) => ({ ...e, position: positions.get(e.event_id)!, received_ts: tsOf(e) }));
}

type EventRow = { event_id: string; pdu: string; position: string; received_ts: string | number; txid?: string; outlier?: boolean; hidden?: boolean; resolved?: boolean };

function toLogged(row: EventRow): LoggedEvent {
  const ev: LoggedEvent = { event_id: row.event_id, pdu: JSON.parse(row.pdu) as Pdu, position: String(row.position), received_ts: Number(row.received_ts) };
  if (row.outlier) ev.outlier = true;
  if (row.hidden) ev.hidden = true;
  if (row.resolved) ev.resolved = true;
  return ev;
}

/**
 * Reads the events after `cursor`, in commit-safe order. Only transactions older than every
 * transaction still running are visible (txid < pg_snapshot_xmin), so an event that was
 * given a position early but committed late is read later, never skipped (emmett's rule).
 */
export async function readLogAfter(db: Db, cursor: LogCursor, limit: number): Promise<{ events: LoggedEvent[]; cursor: LogCursor }> {
  const { rows } = await sql<EventRow & { txid: string }>`
    SELECT events.event_id, pdu, position, received_ts, txid::text AS txid,
      s.event_id IS NULL AS outlier, s.shown = false AS hidden, s.resolved AS resolved
    FROM events LEFT JOIN event_state s ON s.event_id = events.event_id
    WHERE (txid, position) > (${cursor.txid}::xid8, ${cursor.position}::bigint)
      AND txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY txid, position
    LIMIT ${limit}`.execute(db);
  if (rows.length === 0) return { events: [], cursor };
  const last = rows[rows.length - 1];
  return { events: rows.map(toLogged), cursor: { txid: last.txid, position: String(last.position) } };
}

/**
 * Where a new live reader starts: just before the oldest transaction still running, so
 * whatever commits from now on is read (a few events committed just before may be read too).
 */
export async function currentLogCursor(db: Db): Promise<LogCursor> {
  const { rows } = await sql<{ xmin: string }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(db);
  return { txid: String(BigInt(rows[0].xmin) - 1n), position: '9223372036854775807' };
}

/** Reads the whole log (or one room's) in position order, in pages: for rebuild and export. */
export async function* scanLog(db: Db, opts: { roomId?: string; sincePosition?: string; pageSize?: number } = {}): AsyncGenerator<LoggedEvent[]> {
  let after = opts.sincePosition ?? '0';
  const pageSize = opts.pageSize ?? 5000;
  for (;;) {
    let q = db.selectFrom('events').select(['event_id', 'pdu', 'position', 'received_ts']).where('position', '>', after);
    if (opts.roomId) q = q.where('room_id', '=', opts.roomId);
    const rows = await q.orderBy('position').limit(pageSize).execute();
    if (rows.length === 0) return;
    yield rows.map(toLogged);
    after = String(rows[rows.length - 1].position);
  }
}

/** Those of `eventIds` that are in the log, in slices (a join's state can hold more ids than a statement takes parameters). */
export async function eventIdsInLog(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < eventIds.length; i += 10_000) {
    const rows = await db.selectFrom('events').select('event_id').where('event_id', 'in', eventIds.slice(i, i + 10_000)).execute();
    for (const r of rows) out.add(r.event_id);
  }
  return out;
}

export async function getLoggedEvent(db: Db, eventId: string): Promise<LoggedEvent | undefined> {
  const row = await db.selectFrom('events').select(['event_id', 'pdu', 'position', 'received_ts']).where('event_id', '=', eventId).executeTakeFirst();
  return row ? toLogged(row) : undefined;
}

/**
 * The edits and reactions of `roomId` logged before `beforePosition` that apply to the
 * messages `targetIds`, and the redactions of those reactions, in log order: what reached
 * us before history fetched later brought their message (indexes events_by_target and
 * events_by_redacts, whose predicates the literal types match).
 */
export async function eventsTargeting(db: Db, roomId: string, targetIds: readonly string[], beforePosition: string): Promise<LoggedEvent[]> {
  if (targetIds.length === 0) return [];
  const { rows } = await sql<EventRow>`
    SELECT event_id, pdu, position, received_ts FROM events
    WHERE room_id = ${roomId} AND type IN (${sql.lit(EventType.Edit)}, ${sql.lit(EventType.Reaction)})
      AND (pdu::jsonb -> 'content' ->> 'target') IN (${sql.join(targetIds)})
      AND position < ${beforePosition}::bigint
    ORDER BY position`.execute(db);
  const found = rows.map(toLogged);
  const reactions = found.filter((e) => e.pdu.type === EventType.Reaction).map((e) => e.event_id);
  if (reactions.length === 0) return found;
  const undone = await sql<EventRow>`
    SELECT event_id, pdu, position, received_ts FROM events
    WHERE room_id = ${roomId} AND type = ${sql.lit(EventType.Redaction)}
      AND (pdu::jsonb -> 'content' ->> 'redacts') IN (${sql.join(reactions)})
      AND position < ${beforePosition}::bigint`.execute(db);
  return [...found, ...undone.rows.map(toLogged)].sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
}

/** When the earliest of these events was placed in the log (undefined if none is in it). */
export async function earliestReceivedTsOf(db: Db, eventIds: readonly string[]): Promise<number | undefined> {
  let min: number | undefined;
  for (let i = 0; i < eventIds.length; i += 500) {
    const row = await db.selectFrom('events').select((eb) => eb.fn.min('received_ts').as('ts')).where('event_id', 'in', eventIds.slice(i, i + 500)).executeTakeFirst();
    if (row?.ts != null) min = Math.min(min ?? Infinity, Number(row.ts));
  }
  return min;
}

/** When the earliest of a room's events was placed in the log (undefined for an unknown room). */
export async function earliestReceivedTs(db: Db, roomId: string): Promise<number | undefined> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.min('received_ts').as('ts')).where('room_id', '=', roomId).executeTakeFirst();
  return row?.ts == null ? undefined : Number(row.ts);
}

export async function countEvents(db: Db): Promise<number> {
  const row = await db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The state event that held a slot before `position` (what a state event replaced). */
export async function previousStateEvent(db: Db, roomId: string, type: string, stateKey: string, beforePosition: string): Promise<LoggedEvent | undefined> {
  const row = await db.selectFrom('events').select(['event_id', 'pdu', 'position', 'received_ts'])
    .where('room_id', '=', roomId).where('type', '=', type).where('state_key', '=', stateKey).where('position', '<', beforePosition)
    .orderBy('position', 'desc').limit(1).executeTakeFirst();
  return row ? toLogged(row) : undefined;
}
