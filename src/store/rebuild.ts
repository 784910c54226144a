import { sql } from 'kysely';
import type { Pdu } from '../events/event-types.js';
import type { Db } from './database.js';
import type { LoggedEvent } from './event-log.js';
import { PROJECTION_TABLES } from './migrations.js';
import type { PageWrites } from './projections/replay-flushed-rows.js';
import { createReplayProjector } from './projections/replay-projector.js';
import { currentStateGroup, reconcileResolvedState } from './projections/resolved-state.js';
import { createStateStore } from './state-store.js';

/** The projection_checkpoints row a rebuild leaves: the last log position it replayed. */
export const REBUILD_CHECKPOINT = 'rebuild';

export interface RebuildOptions {
  /** Called after each page of events with how many are done out of how many. */
  onProgress?: (done: number, total: number) => void;
  /** Events read per page; also how many recent messages stay in memory from one page to the next. */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 10_000;

/**
 * `nexus rebuild`: empties every projection table and replays the whole log into them.
 * The result equals the views the live append path built (test/store/rebuild.test.ts).
 *
 * Run it with the homeserver STOPPED. On Postgres the rebuild locks the log against appends
 * and the views against reads until it commits, so a running server would stall (and its
 * caches assume views it did not see rebuilt); on PGlite a second process on the same data
 * directory corrupts it. On Postgres it takes two connections from the pool (one reads the
 * log ahead), so the pool must allow two.
 *
 * One transaction for the whole replay, by choice: TRUNCATE, the replay and the checkpoint
 * commit together or not at all, so a rebuild that crashes or is interrupted (Ctrl-C, kill,
 * power loss) leaves the previous views intact and the server can start as before; batched
 * commits would instead leave half-built views that the server must never serve, and a
 * resume protocol to get out of them. The cost is that an interrupted rebuild starts over,
 * and that Postgres keeps the new rows' WAL until commit — fine for a maintenance command
 * whose speed is tens of thousands of events per second. The checkpoint row is written in
 * the same transaction as the rows, so it is visible exactly when they are.
 */
export async function rebuildProjections(db: Db, opts: RebuildOptions = {}): Promise<{ events: number; ms: number }> {
  const started = performance.now();
  const pageSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
  let done = 0;
  await db.transaction().execute(async (trx) => {
    // Before anything else: taken after TRUNCATE, the lock could deadlock with an append
    // that has written its log row and waits for the (truncated) rooms table. It waits for
    // appends in flight to commit, then freezes the log for the rest of the transaction.
    await sql`LOCK TABLE events IN SHARE MODE`.execute(trx);
    const softFailed = new Set((await trx.selectFrom('event_state').select('event_id').where('soft_failed', '=', true).execute()).map((r) => r.event_id));
    // Events in the log but not in the DAG (a joined guild's state, fetched history).
    const outliers = new Set((await sql<{ event_id: string }>`
      SELECT event_id FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_state s WHERE s.event_id = e.event_id)`.execute(trx)).rows.map((r) => r.event_id));
    await sql.raw(`TRUNCATE ${PROJECTION_TABLES.join(', ')}`).execute(trx);
    const total = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM events`.execute(trx)).rows[0].n);
    opts.onProgress?.(0, total);

    const projector = await createReplayProjector(trx, { keepMessages: pageSize, softFailed, outliers });
    let after = '0';
    let pageNumber = 0;
    let pending: PageWrites | undefined; // the previous page's writes
    let writing: Promise<void> = Promise.resolve(); // the writes before those
    try {
      for await (const page of readLog(db, trx, pageSize, await isInProcess(trx))) {
        const events = page.map(([position, receivedTs, , eventId, pdu]): LoggedEvent => ({ event_id: eventId, pdu, position, received_ts: receivedTs }));
        // Pipelined: the database receives the previous page's writes while this page is
        // projected in JS. It reads first, so it must not see the writes half done: wait for
        // the ones before; the projector holds the previous page's changes in memory.
        await writing;
        await projector.loadPage(++pageNumber, events);
        if (pending) {
          writing = projector.write(pending);
          writing.catch(() => {}); // a failure surfaces at the next await, not as an unhandled rejection
        }
        for (let i = 0; i < page.length; i++) projector.project(events[i], page[i][2]);
        pending = projector.endPage();
        done += page.length;
        after = page[page.length - 1][0];
        opts.onProgress?.(done, total);
      }
      await writing;
      if (pending) await (writing = projector.write(pending));
    } finally {
      // Nothing may reach the connection after the transaction ends (it would run outside it).
      await writing.catch(() => {});
    }
    await projector.finish();
    // State groups and event_state are derived from the DAG alone, so the rebuild keeps
    // them; each room's current state is the resolution of its forward extremities' states.
    const stateStore = createStateStore(trx);
    for (const room of await trx.selectFrom('rooms').select(['room_id', 'forward_extremities']).execute()) {
      const group = await currentStateGroup(trx, stateStore, room.room_id, room.forward_extremities);
      if (group === undefined) continue;
      await trx.updateTable('rooms').set({ state_group: group }).where('room_id', '=', room.room_id).execute();
      await reconcileResolvedState(trx, room.room_id, group);
    }
    await trx.insertInto('projection_checkpoints').values({ name: REBUILD_CHECKPOINT, position: after }).execute();
  });
  return { events: done, ms: performance.now() - started };
}

type PageRow = [position: string, receivedTs: number, txid: string, eventId: string, pdu: Pdu];

/** PGlite runs inside this process, on the one connection the transaction holds. */
async function isInProcess(trx: Db): Promise<boolean> {
  const { rows } = await sql<{ v: string }>`SELECT version() AS v`.execute(trx);
  return /PGlite|emscripten/.test(rows[0].v);
}

/**
 * The log in position order, in pages (what scanLog reads, plus each event's transaction
 * id). On Postgres the next page is read on a second connection while this one is
 * projected and written, so both cores work; reading outside the transaction sees the same
 * log, which the transaction's lock keeps still. PGlite has one connection, held by the
 * transaction, so it reads there, one page after the other.
 */
async function* readLog(db: Db, trx: Db, pageSize: number, inProcess: boolean): AsyncGenerator<PageRow[]> {
  const read = inProcess ? (after: string) => readPageAsJson(trx, after, pageSize) : (after: string) => readPageAsRows(db, after, pageSize);
  let after = '0';
  let next: Promise<PageRow[]> | undefined;
  for (;;) {
    const page = await (next ?? read(after));
    if (page.length === 0) return;
    after = page[page.length - 1][0];
    if (!inProcess) {
      next = read(after);
      next.catch(() => {}); // awaited on the next turn; if the rebuild stops first, it must not go unhandled
    }
    yield page;
  }
}

async function readPageAsRows(db: Db, after: string, limit: number): Promise<PageRow[]> {
  const rows = await db.selectFrom('events')
    .select(['position', 'received_ts', sql<string>`txid::text`.as('txid'), 'event_id', 'pdu'])
    .where('position', '>', after).orderBy('position').limit(limit).execute();
  return rows.map((r) => [String(r.position), Number(r.received_ts), r.txid, r.event_id, JSON.parse(r.pdu) as Pdu]);
}

/**
 * One page as a single JSON text built by Postgres: PGlite hands each row to JS at a high
 * cost, so one value instead of thousands is several times faster there (on pg it is
 * slower than rows). The pdu column is already JSON, so it is spliced in, not re-encoded;
 * event ids are hashes, but go through to_json anyway so no stored text can break the array.
 */
async function readPageAsJson(trx: Db, after: string, limit: number): Promise<PageRow[]> {
  const { rows } = await sql<{ page: string | null }>`
    SELECT '[' || string_agg('["' || position::text || '",' || received_ts::text || ',"' || txid::text || '",'
                             || to_json(event_id)::text || ',' || pdu || ']', ',' ORDER BY position) || ']' AS page
    FROM (SELECT position, received_ts, txid, event_id, pdu FROM events
          WHERE position > ${after}::bigint ORDER BY position LIMIT ${limit}) AS e`.execute(trx);
  const text = rows[0]?.page;
  return text ? (JSON.parse(text) as PageRow[]) : [];
}
