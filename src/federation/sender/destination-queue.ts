// Sends one destination's queue: while it holds the destination's lease, one transaction at
// a time of up to 50 PDUs (the oldest queued, or, in catch-up, a backlogged room's newest)
// plus waiting EDUs, until nothing is left or an attempt fails. A failure keeps every row
// and backs the destination off; nothing is ever dropped except by catch-up, and then only
// rows the peer can fetch back (get_missing_events).
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Pdu } from '../../events/event-types.js';
import type { Metrics } from '../../metrics.js';
import type { Db } from '../../store/database.js';
import type { FederationClient } from '../federation-client.js';
import { classifyError } from '../errors.js';
import { retryDelayMs } from './backoff.js';
import type { EduQueues } from './edu-queues.js';
import {
  claimDestination,
  newestRowsOfRoom,
  oldestRows,
  pendingCounts,
  recordFailure,
  recordSuccess,
  releaseDestination,
  roomsOverThreshold,
  type OutboxRow,
} from './outbox-store.js';
import { eduTransactionId, pduTransactionId, SEND_PATH_PREFIX, type SendTransactionBody, type SendTransactionResponse } from './transaction.js';

export type SenderMetrics = Pick<Metrics, 'federationOutboxPending' | 'federationDestinationFailures' | 'federationSentEvents'>;

export interface DestinationQueueContext {
  db: Db;
  clock: Clock;
  log: Logger;
  serverName: string;
  client: Pick<FederationClient, 'request'>;
  random: () => number;
  /** Destinations whose last send from this process failed (so peerReachable has work to do). */
  backingOff: Set<string>;
  /** This sender's lease holder id. */
  me: string;
  maxPdusPerTxn: number;
  catchUpThreshold: number;
  leaseMs: number;
  requestTimeoutMs: number;
  edus: EduQueues;
  metrics?: SenderMetrics;
  /** Ids for EDU-only transactions. */
  nextEduTxnId: () => string;
  stopping: () => boolean;
}

/** How many normal batches between two looks for rooms whose backlog passed the threshold. */
const CATCH_UP_RECHECK_BATCHES = 20;

interface Batch {
  rows: OutboxRow[];
  /** Catch-up of one room: its rows before `position` are skipped on success. */
  catchUp?: { roomId: string; position: string };
}

/** Works on `destination` until its queue is empty, an attempt fails, another sender holds
 *  it, or the sender stops. */
export async function runDestination(ctx: DestinationQueueContext, destination: string): Promise<void> {
  const { db, clock, log, me } = ctx;
  let catchUpRooms: string[] | undefined;
  let batches = 0;
  let emptied = false;
  // The lease we hold, and the failures it was claimed with. Renewed only once half of it is
  // gone: while it runs, no other sender can take the destination, and a claim per batch
  // would be one more statement per transaction (at low rates, per message).
  let lease: { until: number; failures: number } | undefined;
  try {
    for (;;) {
      if (ctx.stopping()) return;
      const now = clock.now();
      if (!lease || now >= lease.until - ctx.leaseMs / 2) {
        const claimed = await claimDestination(db, destination, me, now, ctx.leaseMs);
        if (!claimed) return; // backing off, or another sender has it
        lease = { until: now + ctx.leaseMs, failures: claimed.failures };
      }
      const batch = await nextBatch(ctx, destination, batches++, catchUpRooms, (rooms) => (catchUpRooms = rooms));
      const edus = ctx.edus.take(destination);
      if (batch.rows.length === 0 && edus.length === 0) {
        await releaseDestination(db, destination, me);
        emptied = true;
        return;
      }
      const txnId = batch.rows.length > 0 ? pduTransactionId(batch.rows) : ctx.nextEduTxnId();
      const body: SendTransactionBody = {
        origin: ctx.serverName,
        origin_server_ts: clock.now(),
        pdus: batch.rows.map((r) => JSON.parse(r.pdu) as Pdu),
        edus,
      };
      let response: SendTransactionResponse;
      // The lease is short (a killed process must not block the destination for long), so it
      // is renewed while the peer takes its time to answer.
      const heartbeat = setInterval(() => {
        void claimDestination(db, destination, me, clock.now(), ctx.leaseMs)
          .then((held) => { if (held && lease) lease.until = clock.now() + ctx.leaseMs; })
          .catch(() => {}); // the next claim says if the lease was lost
      }, Math.max(100, ctx.leaseMs / 3));
      heartbeat.unref();
      try {
        response = await ctx.client.request<SendTransactionResponse>(destination, 'PUT', SEND_PATH_PREFIX + encodeURIComponent(txnId), {
          body,
          timeoutMs: ctx.requestTimeoutMs,
        });
      } catch (err) {
        // Every failure, a 4xx included, keeps the rows: a peer that refuses a transaction
        // today (a bug, a full disk, a misconfiguration) may take it tomorrow. EDUs taken for
        // this attempt are dropped: by the retry they would be stale.
        const failures = lease.failures + 1;
        const now = clock.now();
        const delay = retryDelayMs(failures, ctx.random);
        await recordFailure(db, { destination, me, now, failures, retryAt: now + delay, error: (err as Error).message ?? String(err) });
        ctx.metrics?.federationDestinationFailures.set({ destination }, failures);
        ctx.backingOff.add(destination);
        const fields = { destination, txnId, kind: classifyError(err), failures, retryInMs: delay, err: (err as Error).message };
        if (failures === 1) log.warn(fields, 'federation send failed; backing off');
        else log.info(fields, 'federation send failed again');
        return;
      } finally {
        clearInterval(heartbeat);
      }
      logPduErrors(log, destination, txnId, response);
      const { skipped } = await recordSuccess(db, {
        destination,
        positions: batch.rows.map((r) => r.position),
        ...(batch.catchUp ? { skipBefore: batch.catchUp } : {}),
        now: clock.now(),
      });
      if (lease.failures > 0) log.info({ destination, after: lease.failures }, 'federation destination reachable again');
      lease.failures = 0; // recordSuccess reset them
      if (batch.catchUp) {
        catchUpRooms = catchUpRooms?.filter((r) => r !== batch.catchUp!.roomId);
        log.info({ destination, room: batch.catchUp.roomId, sent: batch.rows.length, skipped }, 'federation catch-up: sent the newest events of a backlogged room, the peer fetches the gap');
      }
      ctx.metrics?.federationDestinationFailures.set({ destination }, 0);
      ctx.backingOff.delete(destination);
      if (batch.rows.length > 0) ctx.metrics?.federationSentEvents.inc({ destination }, batch.rows.length);
    }
  } finally {
    if (ctx.metrics && !ctx.stopping()) {
      // Emptied: nothing is pending (rows fed meanwhile set the gauge on their own run).
      const pending = emptied ? new Map([[destination, 0]]) : await pendingCounts(db, destination).catch(() => undefined);
      if (pending) ctx.metrics.federationOutboxPending.set({ destination }, pending.get(destination) ?? 0);
    }
  }
}

/**
 * The next rows to send: a backlogged room's newest (catch-up), else the oldest queued.
 * Rooms over the threshold are looked for (a GROUP BY over the destination's queue) only
 * when the oldest rows fill a transaction, every CATCH_UP_RECHECK_BATCHES batches: a room
 * with more rows than the threshold cannot hide behind a batch that is not full, so a
 * short queue (the common case: a few events per transaction) never pays for the look.
 */
async function nextBatch(
  ctx: DestinationQueueContext, destination: string, batchNo: number,
  known: string[] | undefined, remember: (rooms: string[]) => void,
): Promise<Batch> {
  const oldest = await oldestRows(ctx.db, destination, ctx.maxPdusPerTxn);
  if (oldest.length < ctx.maxPdusPerTxn) return { rows: oldest };
  let rooms = known;
  if (rooms === undefined || batchNo % CATCH_UP_RECHECK_BATCHES === 0) {
    rooms = await roomsOverThreshold(ctx.db, destination, ctx.catchUpThreshold);
  }
  while (rooms.length > 0) {
    const roomId = rooms[0];
    const rows = await newestRowsOfRoom(ctx.db, destination, roomId, ctx.maxPdusPerTxn);
    if (rows.length > 0) {
      remember(rooms);
      return { rows, catchUp: { roomId, position: rows[0].position } };
    }
    rooms = rooms.slice(1);
  }
  remember(rooms);
  return { rows: oldest };
}

/** The receiver accepted the transaction but refused some PDUs (auth, bad signature): not
 *  ours to retry, the rows go; say which, for whoever investigates. */
function logPduErrors(log: Logger, destination: string, txnId: string, response: SendTransactionResponse): void {
  const pdus = response?.pdus;
  if (!pdus || typeof pdus !== 'object') return;
  for (const [eventId, result] of Object.entries(pdus)) {
    if (result && typeof result === 'object' && typeof result.error === 'string') {
      log.info({ destination, txnId, eventId, error: result.error.slice(0, 500) }, 'federation peer refused a PDU');
    }
  }
}
