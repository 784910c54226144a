// The outbound federation sender (DESIGN, Federation: "one durable queue per destination in
// Postgres; exponential backoff (capped), resumes after restart, never drops an event").
//
//   log ──feeder──▶ federation_outbox (one row per destination and event) ──▶ per destination,
//   one PUT send/{txnId} at a time, ≤50 PDUs + ≤100 EDUs ──▶ rows deleted on 200
//
// Woken after appends (wake(), LISTEN/NOTIFY) and by a timer that also drives retries.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { Db } from '../../store/database.js';
import { LOG_NOTIFY_CHANNEL } from '../../store/append-events.js';
import type { FederationClient } from '../federation-client.js';
import { shouldAttempt } from './backoff.js';
import { runDestination, type DestinationQueueContext, type SenderMetrics } from './destination-queue.js';
import { createEduQueues } from './edu-queues.js';
import { createOutboxFeeder } from './outbox-feeder.js';
import { candidateDestinations, claimable, pendingCounts, resetBackoff } from './outbox-store.js';
import { joinedServersByRoom } from './room-servers.js';
import { federationStatus, type DestinationStatus } from './status.js';
import { eduTransactionId, MAX_PDUS_PER_TXN, type Edu } from './transaction.js';

/** Log pages (of feedPageSize events) fed per round before due destinations are started. */
const FEED_PAGES_PER_ROUND = 4;

export interface FederationSenderDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  serverName: string;
  client: Pick<FederationClient, 'request'>;
  /** [0, 1), for the backoff jitter (default Math.random). */
  random?: () => number;
  /** PDUs per transaction (default and maximum 50). */
  maxPdusPerTxn?: number;
  /** A room with more events than this queued for one destination is caught up: only its
   *  newest are sent, the peer fetches the gap (default 1000). */
  catchUpThreshold?: number;
  /** Deadline of one send (default 30 s). */
  requestTimeoutMs?: number;
  /** How long a destination stays claimed without renewal (default 10 s; renewed while a
   *  send is in flight). Short, so a process killed mid-send blocks its destinations for
   *  at most this long after its restart (the new process is another holder). */
  leaseMs?: number;
  /** Period of the retry/poll timer (default 1000 ms; 0: no timer, for tests that drive it). */
  pollMs?: number;
  /** Log events read per feeder transaction (default 500). */
  feedPageSize?: number;
  /** The trust policy's allows(): nothing is queued for a server it refuses. */
  allowDestination?: (serverName: string) => boolean;
  /** Subscribe to appends by any process (OpenedDatabase.listen). */
  listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  metrics?: SenderMetrics;
}

export interface FederationSender {
  /** Feed the outbox and try every destination whose backoff allows, soon. */
  wake(): void;
  start(): Promise<void>;
  /** Stops; waits for the transactions in flight (at most the request timeout). */
  stop(): Promise<void>;
  /**
   * The server sent us an authenticated request, so it is up: retry it now rather than
   * when its backoff ends (which after a long outage can be minutes away).
   */
  peerReachable(serverName: string): void;
  /** Sends an EDU to every server with a joined member in the room (best effort). */
  queueEdu(roomId: string, edu: Edu): void;
  /** Sends an EDU to one server (best effort): news about a user rather than a room (nexus.profile). */
  queueEduTo(destination: string, edu: Edu): void;
  status(): Promise<DestinationStatus[]>;
  /** Resolves when nothing is pending that could be sent now (for tests). */
  idle(): Promise<void>;
}

export function createFederationSender(deps: FederationSenderDeps): FederationSender {
  const { db, clock, log, serverName } = deps;
  const requestTimeoutMs = deps.requestTimeoutMs ?? 30_000;
  const instance = randomBytes(6).toString('hex');
  let eduSeq = 0;
  const edus = createEduQueues();
  const allow = deps.allowDestination ?? (() => true);
  const feeder = createOutboxFeeder({ db, serverName, log, pageSize: deps.feedPageSize, allowDestination: allow });
  let stopping = false;
  let started = false;
  const ctx: DestinationQueueContext = {
    db, clock, log, serverName, client: deps.client, edus,
    random: deps.random ?? Math.random,
    me: `${process.pid}-${instance}`,
    maxPdusPerTxn: Math.max(1, Math.min(deps.maxPdusPerTxn ?? MAX_PDUS_PER_TXN, MAX_PDUS_PER_TXN)),
    catchUpThreshold: deps.catchUpThreshold ?? 1000,
    leaseMs: deps.leaseMs ?? 10_000,
    backingOff: new Set<string>(),
    requestTimeoutMs,
    metrics: deps.metrics,
    nextEduTxnId: () => eduTransactionId(instance, ++eduSeq),
    stopping: () => stopping,
  };

  const inFlight = new Map<string, Promise<void>>();
  // Destinations that got rows while their run was in flight. The run may already have found
  // its queue empty and be on its way out, and the round skips destinations in flight, so
  // without this those rows would wait for the next wake or tick (up to pollMs).
  const rerun = new Set<string>();
  const eduLookups = new Set<Promise<void>>();
  let round: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  /** Destinations to try now: backoff over, not claimed by another sender, not already ours. */
  async function dueDestinations(): Promise<string[]> {
    const now = clock.now();
    const waitingEdus = edus.destinations();
    const rows = await candidateDestinations(db, waitingEdus);
    const known = new Set(rows.map((r) => r.destination));
    const due = rows.filter((d) => shouldAttempt(d, now) && claimable(d, now, ctx.me)).map((d) => d.destination);
    // allow() again here: rows queued before the operator dropped a server from the allow
    // list wait (nothing is dropped) until it is allowed again.
    return [...due, ...waitingEdus.filter((d) => !known.has(d))].filter((d) => !inFlight.has(d) && allow(d));
  }

  function startDestination(destination: string): void {
    rerun.delete(destination);
    const run = runDestination(ctx, destination)
      .catch((err) => log.error({ err, destination }, 'federation sender: destination run failed'))
      .finally(() => {
        inFlight.delete(destination);
        if (rerun.has(destination) && !stopping) startDestination(destination);
      });
    inFlight.set(destination, run);
  }

  async function oneRound(): Promise<void> {
    try {
      // A bounded feed: under sustained appends, feeding to the visible end of the log can
      // keep finding a few more events and not return, and then no destination would be
      // started (or retried) below until the appends pause. What is left, the next round feeds.
      const fed = await feeder.feed(FEED_PAGES_PER_ROUND);
      for (const d of fed.destinations) if (inFlight.has(d)) rerun.add(d);
      if (fed.more) again = true;
    } catch (err) {
      log.error({ err }, 'federation sender: feeding the outbox failed');
    }
    for (const destination of await dueDestinations()) startDestination(destination);
  }

  function wake(): void {
    if (!started || stopping) return;
    if (round) {
      again = true;
      return;
    }
    round = (async () => {
      // One append wakes us twice, once directly (onAppended) and once by its NOTIFY, which
      // on PGlite comes in the same turn of the event loop or the next. Starting on the next
      // turn lets one round serve both, rather than a second round finding nothing to do
      // (on PGlite every statement blocks the event loop; bench/federation-latency.ts
      // --trace-sql counts them).
      await new Promise<void>((resolve) => setImmediate(resolve));
      do {
        again = false;
        await oneRound();
      } while (again && !stopping);
    })()
      .catch((err) => log.error({ err }, 'federation sender round failed'))
      .finally(() => {
        round = undefined;
      });
  }

  /** Waits until no round, send or EDU lookup is running. */
  async function settle(): Promise<void> {
    while (round || inFlight.size > 0 || eduLookups.size > 0) {
      await Promise.allSettled([round, ...inFlight.values(), ...eduLookups]);
    }
  }

  async function refreshGauges(): Promise<DestinationStatus[]> {
    const status = await federationStatus(db);
    for (const s of status) {
      deps.metrics?.federationOutboxPending.set({ destination: s.destination }, s.pending);
      deps.metrics?.federationDestinationFailures.set({ destination: s.destination }, s.failures);
    }
    return status;
  }

  let ticks = 0;
  function tick(): void {
    wake();
    // Pending counts of destinations in backoff grow without a send to update them.
    if (deps.metrics && ++ticks % 10 === 0) {
      void pendingCounts(db).then(
        (counts) => counts.forEach((n, destination) => deps.metrics!.federationOutboxPending.set({ destination }, n)),
        (err) => log.debug({ err }, 'federation sender: gauge refresh failed'),
      );
    }
  }

  return {
    wake,
    async start() {
      if (started) return;
      started = true;
      // The first feed sets the cursor of a new server to the end of the log; later appends
      // are then all queued. Done before returning so that nothing appended after start()
      // is missed.
      await feeder.feed();
      if (deps.listen) unlisten = await deps.listen(LOG_NOTIFY_CHANNEL, wake);
      const pollMs = deps.pollMs ?? 1000;
      if (pollMs > 0) {
        timer = setInterval(tick, pollMs);
        timer.unref();
      }
      wake();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await unlisten?.();
      await settle();
    },
    peerReachable(server) {
      // Most requests come from healthy peers: only one we failed to reach costs a statement.
      if (!started || stopping || !ctx.backingOff.has(server)) return;
      void resetBackoff(db, server, clock.now())
        .then((reset) => {
          if (!reset) return;
          log.info({ destination: server }, 'federation destination heard from: retrying it now');
          wake();
        })
        .catch((err) => log.warn({ err, destination: server }, 'federation sender: cannot reset a backoff'));
    },
    queueEdu(roomId, edu) {
      if (!started || stopping) return;
      const lookup = joinedServersByRoom(db, [roomId])
        .then((joined) => {
          for (const destination of joined.get(roomId) ?? []) {
            if (destination !== serverName && allow(destination)) edus.push(destination, edu);
          }
          wake();
        })
        .catch((err) => log.warn({ err, roomId }, 'federation sender: cannot address an EDU'))
        .finally(() => eduLookups.delete(lookup));
      eduLookups.add(lookup);
    },
    queueEduTo(destination, edu) {
      if (!started || stopping || destination === serverName || !allow(destination)) return;
      edus.push(destination, edu);
      wake();
    },
    status: () => (deps.metrics ? refreshGauges() : federationStatus(db)),
    async idle() {
      for (let pass = 0; ; pass++) {
        // Another process may hold the feeder lock or a lease: give it time to progress.
        if (pass > 0) await new Promise((resolve) => setTimeout(resolve, 5));
        await settle();
        if (stopping || !started) return;
        const behind = await feeder.behind();
        const due = await dueDestinations();
        if (!behind && due.length === 0) return;
        wake();
      }
    },
  };
}
