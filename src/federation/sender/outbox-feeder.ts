// Reads the log by (txid, position) from the sender's own durable cursor and queues each
// event to relay as one federation_outbox row per destination (DESIGN habit 3: append stays
// dumb, fan-out reads the log). The rows and the new cursor are written in one transaction,
// so a crash neither loses an event nor queues it twice.
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../store/database.js';
import { currentLogCursor, readLogAfter, type LogCursor } from '../../store/event-log.js';
import { destinationsFor, shouldRelay } from './relay-rule.js';
import { accountRoomsAmong, joinedServersByRoom } from './room-servers.js';

/** pg advisory lock key of the feeder: one process feeds at a time per database
 *  (migrations use 7415011). */
export const FEEDER_LOCK_KEY = 7415012;

const CURSOR_ID = 1;
const INSERT_CHUNK = 1000; // rows per INSERT: 4 parameters each, far below the 65,535 limit

export interface FeedResult {
  /** Events read from the log. */
  events: number;
  /** Outbox rows queued. */
  rows: number;
  /** Another process held the feeder lock: nothing was done. */
  busy: boolean;
}

export interface OutboxFeeder {
  /** Feeds until the log is read to its commit-safe end (or another process is feeding). */
  feed(): Promise<FeedResult>;
  /** Whether the log holds events the feeder has not read yet (or it has no cursor yet). */
  behind(): Promise<boolean>;
}

export interface OutboxFeederDeps {
  db: Db;
  serverName: string;
  log: Logger;
  pageSize?: number;
  /** The trust policy: destinations it refuses get nothing queued (spec/federation.md, Trust). */
  allowDestination?: (serverName: string) => boolean;
}

async function readCursor(db: Db): Promise<LogCursor | undefined> {
  const row = await db.selectFrom('federation_cursor').select(['txid', 'position']).where('id', '=', CURSOR_ID).executeTakeFirst();
  return row ? { txid: row.txid, position: String(row.position) } : undefined;
}

async function writeCursor(db: Db, cursor: LogCursor): Promise<void> {
  await db.insertInto('federation_cursor').values({ id: CURSOR_ID, txid: cursor.txid, position: cursor.position })
    .onConflict((oc) => oc.column('id').doUpdateSet({ txid: cursor.txid, position: cursor.position })).execute();
}

export function createOutboxFeeder(deps: OutboxFeederDeps): OutboxFeeder {
  const { db, serverName, log } = deps;
  const pageSize = deps.pageSize ?? 500;
  const allow = deps.allowDestination ?? (() => true);

  /** One page in one transaction; returns undefined when the page was empty. */
  async function feedPage(): Promise<FeedResult | undefined> {
    return db.transaction().execute(async (trx) => {
      const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${FEEDER_LOCK_KEY}) AS ok`.execute(trx);
      if (!lock.rows[0]?.ok) return { events: 0, rows: 0, busy: true };
      const cursor = await readCursor(trx);
      if (!cursor) {
        // A new server (or one that never federated): start from now rather than replay
        // history to peers; whatever they lack they fetch (backfill, get_missing_events).
        await writeCursor(trx, await currentLogCursor(trx));
        return undefined;
      }
      // Read before writing anything: this transaction has no xid yet, so it does not hold
      // back the snapshot horizon that readLogAfter stays behind.
      const page = await readLogAfter(trx, cursor, pageSize);
      if (page.events.length === 0) return undefined;

      const candidates = page.events.filter((e) => shouldRelay(e.pdu, serverName));
      const roomIds = [...new Set(candidates.map((e) => e.pdu.room_id))];
      const accountRooms = await accountRoomsAmong(trx, roomIds);
      const joined = await joinedServersByRoom(trx, roomIds);
      const rows: Array<{ destination: string; position: string; event_id: string; room_id: string }> = [];
      for (const e of candidates) {
        if (!shouldRelay(e.pdu, serverName, { accountRoom: accountRooms.has(e.pdu.room_id) })) continue;
        for (const destination of destinationsFor(e.pdu, joined.get(e.pdu.room_id) ?? new Set(), serverName)) {
          if (allow(destination)) rows.push({ destination, position: e.position, event_id: e.event_id, room_id: e.pdu.room_id });
        }
      }
      const destinations = [...new Set(rows.map((r) => r.destination))];
      if (destinations.length > 0) {
        await trx.insertInto('federation_destinations')
          .values(destinations.map((destination) => ({ destination, last_success_ts: null, last_failure_ts: null, last_error: null, claimed_by: null, claimed_until_ts: null })))
          .onConflict((oc) => oc.column('destination').doNothing()).execute();
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx.insertInto('federation_outbox').values(rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.columns(['destination', 'position']).doNothing()).execute();
      }
      await writeCursor(trx, page.cursor);
      if (rows.length > 0) log.debug({ events: page.events.length, rows: rows.length, destinations }, 'federation outbox fed');
      return { events: page.events.length, rows: rows.length, busy: false };
    });
  }

  return {
    async feed() {
      const total: FeedResult = { events: 0, rows: 0, busy: false };
      for (;;) {
        const page = await feedPage();
        if (!page) return total;
        if (page.busy) return { ...total, busy: true };
        total.events += page.events;
        total.rows += page.rows;
      }
    },
    async behind() {
      const cursor = await readCursor(db);
      if (!cursor) return true;
      return (await readLogAfter(db, cursor, 1)).events.length > 0;
    },
  };
}
