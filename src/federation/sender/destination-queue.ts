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
  let catchUpRooms: string[] = [];
  let batches = 0;
  try {
    for (;;) {
      if (ctx.stopping()) return;
      const claimed = await claimDestination(db, destination, me, clock.now(), ctx.leaseMs);
      if (!claimed) return; // backing off, or another sender has it
      if (batches % CATCH_UP_RECHECK_BATCHES === 0) catchUpRooms = await roomsOverThreshold(db, destination, ctx.catchUpThreshold);
      batches++;
      const batch = await nextBatch(ctx, destination, catchUpRooms);
      const edus = ctx.edus.take(destination);
      if (batch.rows.length === 0 && edus.length === 0) {
        await releaseDestination(db, destination, me);
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
      try {
        response = await ctx.client.request<SendTransactionResponse>(destination, 'PUT', SEND_PATH_PREFIX + encodeURIComponent(txnId), {
          body,
          timeoutMs: ctx.requestTimeoutMs,
        });
      } catch (err) {
        // Every failure, a 4xx included, keeps the rows: a peer that refuses a transaction
        // today (a bug, a full disk, a misconfiguration) may take it tomorrow. EDUs taken for
        // this attempt are dropped: by the retry they would be stale.
        const failures = claimed.failures + 1;
        const now = clock.now();
        const delay = retryDelayMs(failures, ctx.random);
        await recordFailure(db, { destination, me, now, failures, retryAt: now + delay, error: (err as Error).message ?? String(err) });
        ctx.metrics?.federationDestinationFailures.set({ destination }, failures);
        const fields = { destination, txnId, kind: classifyError(err), failures, retryInMs: delay, err: (err as Error).message };
        if (failures === 1) log.warn(fields, 'federation send failed; backing off');
        else log.info(fields, 'federation send failed again');
        return;
      }
      logPduErrors(log, destination, txnId, response);
      const { skipped } = await recordSuccess(db, {
        destination,
        positions: batch.rows.map((r) => r.position),
        ...(batch.catchUp ? { skipBefore: batch.catchUp } : {}),
        now: clock.now(),
      });
      if (claimed.failures > 0) log.info({ destination, after: claimed.failures }, 'federation destination reachable again');
      if (batch.catchUp) {
        catchUpRooms = catchUpRooms.filter((r) => r !== batch.catchUp!.roomId);
        log.info({ destination, room: batch.catchUp.roomId, sent: batch.rows.length, skipped }, 'federation catch-up: sent the newest events of a backlogged room, the peer fetches the gap');
      }
      ctx.metrics?.federationDestinationFailures.set({ destination }, 0);
      if (batch.rows.length > 0) ctx.metrics?.federationSentEvents.inc({ destination }, batch.rows.length);
    }
  } finally {
    if (ctx.metrics && !ctx.stopping()) {
      const pending = await pendingCounts(db, destination).catch(() => undefined);
      if (pending) ctx.metrics.federationOutboxPending.set({ destination }, pending.get(destination) ?? 0);
    }
  }
}

async function nextBatch(ctx: DestinationQueueContext, destination: string, catchUpRooms: string[]): Promise<Batch> {
  while (catchUpRooms.length > 0) {
    const roomId = catchUpRooms[0];
    const rows = await newestRowsOfRoom(ctx.db, destination, roomId, ctx.maxPdusPerTxn);
    if (rows.length > 0) return { rows, catchUp: { roomId, position: rows[0].position } };
    catchUpRooms.shift();
  }
  return { rows: await oldestRows(ctx.db, destination, ctx.maxPdusPerTxn) };
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
