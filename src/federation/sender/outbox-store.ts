// The sender's SQL: the per-destination queue (federation_outbox) and the per-destination
// state (federation_destinations). Nothing else in the sender builds SQL (DESIGN habit 1).
//
// Multi-process: a destination is worked on by one sender at a time through a lease
// (claimed_by, claimed_until_ts) taken with a conditional UPDATE, not through a row lock
// held across the HTTP send. A transaction left open for a whole exchange with a slow peer
// would pin a pool connection per destination, block PGlite's single connection (and with
// it every append), and, having an xid, hold back pg_snapshot_xmin and so stall every log
// reader (gateway fan-out included) until the peer answers or times out. The lease outlives
// the request timeout, so it only expires when its holder died; if it ever expired under a
// live sender, the worst case is one batch sent twice, which the receiver absorbs (same
// transaction id, and PDUs are idempotent by event id).
import { sql } from 'kysely';
import type { Db } from '../../store/database.js';

export interface DestinationRow {
  destination: string;
  failures: number;
  retry_at_ts: string | number;
  claimed_by: string | null;
  claimed_until_ts: string | number | null;
}

/** An outbox row joined with its event's PDU JSON, exactly as stored in the log. */
export interface OutboxRow {
  position: string;
  event_id: string;
  room_id: string;
  pdu: string;
}

/** Pure: whether `me` may take the destination now (free, expired, or already ours). */
export function claimable(d: Pick<DestinationRow, 'claimed_by' | 'claimed_until_ts'>, now: number, me: string): boolean {
  return d.claimed_by === null || d.claimed_by === me || d.claimed_until_ts === null || Number(d.claimed_until_ts) < now;
}

const DEST_COLUMNS = ['destination', 'failures', 'retry_at_ts', 'claimed_by', 'claimed_until_ts'] as const;

/** Destinations with queued rows, plus the named ones (those with EDUs waiting in memory). */
export async function candidateDestinations(db: Db, extra: readonly string[]): Promise<DestinationRow[]> {
  return db
    .selectFrom('federation_destinations as d')
    .select(DEST_COLUMNS.map((c) => `d.${c}` as const))
    .where((eb) =>
      eb.or([
        eb.exists(eb.selectFrom('federation_outbox as o').select(sql`1`.as('one')).whereRef('o.destination', '=', 'd.destination')),
        ...(extra.length > 0 ? [eb('d.destination', 'in', [...extra])] : []),
      ]),
    )
    .execute();
}

/**
 * Takes (or renews) the lease on a destination whose backoff allows an attempt. Returns the
 * row when `me` holds it, undefined when it is backing off or another sender holds it. The
 * UPDATE's WHERE is re-checked under the row lock, so two senders cannot both win.
 */
export async function claimDestination(db: Db, destination: string, me: string, now: number, leaseMs: number): Promise<DestinationRow | undefined> {
  const claim = () => db
    .updateTable('federation_destinations')
    .set({ claimed_by: me, claimed_until_ts: now + leaseMs })
    .where('destination', '=', destination)
    .where('retry_at_ts', '<=', now)
    .where((eb) => eb.or([eb('claimed_by', 'is', null), eb('claimed_by', '=', me), eb('claimed_until_ts', 'is', null), eb('claimed_until_ts', '<', now)]))
    .returning(DEST_COLUMNS)
    .executeTakeFirst();
  const claimed = await claim();
  if (claimed) return claimed;
  // No row claimed: backing off, held by another sender, or no row yet (a destination with
  // only EDUs waiting). Only in the last case is there something to create and claim.
  const created = await db.insertInto('federation_destinations').values({ destination, last_success_ts: null, last_failure_ts: null, last_error: null, claimed_by: null, claimed_until_ts: null })
    .onConflict((oc) => oc.column('destination').doNothing()).returning('destination').executeTakeFirst();
  return created ? claim() : undefined;
}

export async function releaseDestination(db: Db, destination: string, me: string): Promise<void> {
  await db.updateTable('federation_destinations').set({ claimed_by: null, claimed_until_ts: null })
    .where('destination', '=', destination).where('claimed_by', '=', me).execute();
}

function rowsQuery(db: Db, destination: string) {
  return db
    .selectFrom('federation_outbox as o')
    .innerJoin('events as e', 'e.position', 'o.position')
    .select(['o.position', 'o.event_id', 'o.room_id', 'e.pdu'])
    .where('o.destination', '=', destination);
}

/** The destination's oldest queued rows, in log position order. */
export async function oldestRows(db: Db, destination: string, limit: number): Promise<OutboxRow[]> {
  const rows = await rowsQuery(db, destination).orderBy('o.position').limit(limit).execute();
  return rows.map((r) => ({ ...r, position: String(r.position) }));
}

/** One room's newest queued rows for the destination, oldest first. */
export async function newestRowsOfRoom(db: Db, destination: string, roomId: string, limit: number): Promise<OutboxRow[]> {
  const rows = await rowsQuery(db, destination).where('o.room_id', '=', roomId).orderBy('o.position', 'desc').limit(limit).execute();
  return rows.reverse().map((r) => ({ ...r, position: String(r.position) }));
}

/** Rooms whose backlog for the destination is above `threshold`, oldest backlog first. */
export async function roomsOverThreshold(db: Db, destination: string, threshold: number): Promise<string[]> {
  const rows = await db
    .selectFrom('federation_outbox')
    .select(['room_id', sql<string>`min(position)`.as('first')])
    .where('destination', '=', destination)
    .groupBy('room_id')
    .having((eb) => eb.fn.countAll(), '>', threshold)
    .orderBy('first')
    .execute();
  return rows.map((r) => r.room_id);
}

/**
 * After the peer acknowledged a transaction: deletes its rows (and, for a catch-up, the
 * room's older rows that were skipped) and records the success, in one transaction, so a
 * crash in between can only make us send the batch again, never lose it.
 */
export async function recordSuccess(
  db: Db,
  opts: { destination: string; positions: string[]; skipBefore?: { roomId: string; position: string }; now: number },
): Promise<{ skipped: number }> {
  return db.transaction().execute(async (trx) => {
    if (opts.positions.length > 0) {
      await trx.deleteFrom('federation_outbox').where('destination', '=', opts.destination).where('position', 'in', opts.positions).execute();
    }
    let skipped = 0;
    if (opts.skipBefore) {
      const res = await trx.deleteFrom('federation_outbox').where('destination', '=', opts.destination)
        .where('room_id', '=', opts.skipBefore.roomId).where('position', '<', opts.skipBefore.position).executeTakeFirst();
      skipped = Number(res.numDeletedRows);
    }
    await trx.updateTable('federation_destinations')
      .set({ failures: 0, retry_at_ts: 0, last_success_ts: opts.now, sent_events: sql`sent_events + ${opts.positions.length}` })
      .where('destination', '=', opts.destination).execute();
    return { skipped };
  });
}

/** After a failed attempt: keeps the rows, counts the failure, schedules the retry and
 *  gives up the lease. */
/** Ends a destination's backoff (it was heard from); true if it was backing off. */
export async function resetBackoff(db: Db, destination: string, now: number): Promise<boolean> {
  const rows = await db.updateTable('federation_destinations').set({ retry_at_ts: now })
    .where('destination', '=', destination).where('retry_at_ts', '>', now).returning('destination').execute();
  return rows.length > 0;
}

export async function recordFailure(
  db: Db,
  opts: { destination: string; me: string; now: number; failures: number; retryAt: number; error: string },
): Promise<void> {
  await db.updateTable('federation_destinations')
    .set({
      failures: opts.failures,
      retry_at_ts: opts.retryAt,
      last_failure_ts: opts.now,
      last_error: opts.error.slice(0, 1000),
      claimed_by: sql`CASE WHEN claimed_by = ${opts.me} THEN NULL ELSE claimed_by END`,
      claimed_until_ts: sql`CASE WHEN claimed_by = ${opts.me} THEN NULL ELSE claimed_until_ts END`,
    })
    .where('destination', '=', opts.destination).execute();
}

/** Queued rows per destination (all destinations, or one). */
export async function pendingCounts(db: Db, destination?: string): Promise<Map<string, number>> {
  let q = db.selectFrom('federation_outbox').select(['destination', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('destination');
  if (destination !== undefined) q = q.where('destination', '=', destination);
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.destination, Number(r.n)]));
}
