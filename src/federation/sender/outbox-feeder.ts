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
  /** The destinations that got rows. */
  destinations: string[];
  /** Another process held the feeder lock: nothing was done. */
  busy: boolean;
  /** Stopped at `maxPages` with more of the log to read. */
  more: boolean;
}

export interface OutboxFeeder {
  /** Feeds until the log is read to its commit-safe end (or another process is feeding),
   *  or `maxPages` pages were fed. */
  feed(maxPages?: number): Promise<FeedResult>;
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
  // The feeder runs once or twice per append (the append's own wake, then its NOTIFY), and
  // on PGlite every statement blocks the event loop, so what it can skip it remembers:
  // - the last cursor it read or wrote: cursors only move forward, so when nothing is
  //   visible after this one, nothing is after the stored one either: "is there anything to
  //   feed?" is one statement instead of a locked transaction of five;
  // - whether a room is an account room (its create event never changes);
  // - the destinations that have a federation_destinations row (rows are never deleted).
  let knownCursor: LogCursor | undefined;
  const accountRoomCache = new Map<string, boolean>();
  const knownDestinations = new Set<string>();

  async function accountRoomsOf(trx: Db, roomIds: string[]): Promise<Set<string>> {
    const unknown = roomIds.filter((r) => !accountRoomCache.has(r));
    if (unknown.length > 0) {
      // A room's create event is logged, with its room_state row, in the same transaction as
      // or before any other event of the room, so a room read here has its answer already.
      const found = await accountRoomsAmong(trx, unknown);
      for (const r of unknown) accountRoomCache.set(r, found.has(r));
    }
    return new Set(roomIds.filter((r) => accountRoomCache.get(r) === true));
  }

  /** One page in one transaction; returns undefined when the page was empty. */
  async function feedPage(): Promise<FeedResult | undefined> {
    let cursorAfter: LogCursor | undefined;
    return db.transaction().execute(async (trx) => {
      const lock = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${FEEDER_LOCK_KEY}) AS ok`.execute(trx);
      if (!lock.rows[0]?.ok) return { events: 0, rows: 0, destinations: [], busy: true, more: false };
      const cursor = await readCursor(trx);
      if (!cursor) {
        // A new server (or one that never federated): start from now rather than replay
        // history to peers; whatever they lack they fetch (backfill, get_missing_events).
        cursorAfter = await currentLogCursor(trx);
        await writeCursor(trx, cursorAfter);
        return undefined;
      }
      cursorAfter = cursor;
      // Read before writing anything: this transaction has no xid yet, so it does not hold
      // back the snapshot horizon that readLogAfter stays behind.
      const page = await readLogAfter(trx, cursor, pageSize);
      if (page.events.length === 0) return undefined;

      const candidates = page.events.filter((e) => shouldRelay(e.pdu, serverName));
      const roomIds = [...new Set(candidates.map((e) => e.pdu.room_id))];
      const accountRooms = await accountRoomsOf(trx, roomIds);
      const joined = await joinedServersByRoom(trx, roomIds);
      const rows: Array<{ destination: string; position: string; event_id: string; room_id: string }> = [];
      for (const e of candidates) {
        if (!shouldRelay(e.pdu, serverName, { accountRoom: accountRooms.has(e.pdu.room_id) })) continue;
        for (const destination of destinationsFor(e.pdu, joined.get(e.pdu.room_id) ?? new Set(), serverName)) {
          if (allow(destination)) rows.push({ destination, position: e.position, event_id: e.event_id, room_id: e.pdu.room_id });
        }
      }
      const destinations = [...new Set(rows.map((r) => r.destination))];
      const newDestinations = destinations.filter((d) => !knownDestinations.has(d));
      if (newDestinations.length > 0) {
        await trx.insertInto('federation_destinations')
          .values(newDestinations.map((destination) => ({ destination, last_success_ts: null, last_failure_ts: null, last_error: null, claimed_by: null, claimed_until_ts: null })))
          .onConflict((oc) => oc.column('destination').doNothing()).execute();
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx.insertInto('federation_outbox').values(rows.slice(i, i + INSERT_CHUNK))
          .onConflict((oc) => oc.columns(['destination', 'position']).doNothing()).execute();
      }
      await writeCursor(trx, page.cursor);
      cursorAfter = page.cursor;
      if (rows.length > 0) log.debug({ events: page.events.length, rows: rows.length, destinations }, 'federation outbox fed');
      return { events: page.events.length, rows: rows.length, destinations, busy: false, more: false };
    }).then((result) => {
      // Only once committed: a rolled-back page must neither hide a destination's missing
      // row nor move the remembered cursor past events that were not queued.
      if (cursorAfter) knownCursor = cursorAfter;
      for (const d of result?.destinations ?? []) knownDestinations.add(d);
      return result;
    });
  }

  return {
    async feed(maxPages = Infinity) {
      const total: FeedResult = { events: 0, rows: 0, destinations: [], busy: false, more: false };
      const destinations = new Set<string>();
      for (let pages = 0; ; pages++) {
        if (pages >= maxPages) return { ...total, destinations: [...destinations], more: true };
        // Until the log is read to its visible end, as seen from the remembered cursor.
        if (knownCursor && (await readLogAfter(db, knownCursor, 1)).events.length === 0) break;
        const page = await feedPage();
        if (!page) break;
        if (page.busy) return { ...total, destinations: [...destinations], busy: true };
        total.events += page.events;
        total.rows += page.rows;
        for (const d of page.destinations) destinations.add(d);
        // A short page was the visible end of the log (what commits later wakes us again).
        if (page.events < pageSize) break;
      }
      return { ...total, destinations: [...destinations] };
    },
    async behind() {
      const cursor = await readCursor(db);
      if (!cursor) return true;
      return (await readLogAfter(db, cursor, 1)).events.length > 0;
    },
  };
}
