// Learning the profiles (display names) of users of other servers, in the background.
//
//   accounts.ensureRemoteUsers ──want(ids)──▶ pending, per server ──▶ query/profiles, ≤1000
//   ids per request, one request per server at a time, a few servers at once ──▶ store
//
// Nothing here runs on the caller's path: want() only queues. A server that fails is backed
// off (the sender's schedule) and its users asked again when that ends; a server the trust
// policy refuses is never asked, and its users keep showing their usernames.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { serverOf } from '../events/event-types.js';
import { classifyError } from './errors.js';
import { MAX_PROFILES_PER_QUERY } from './profile-queries.js';
import { retryDelayMs } from './sender/backoff.js';

export interface RemoteProfilesDeps {
  clock: Clock;
  log: Logger;
  /** The trust policy's allows(): users of a server it refuses are never asked about. */
  allowServer: (server: string) => boolean;
  /** Asks `server` about its users `ids` (queryProfiles): each asked user's display name. */
  fetch: (server: string, ids: string[]) => Promise<Map<string, string | null>>;
  /** Stores the answer to a query asked at `askedTs` (accounts.storeRemoteProfiles). */
  store: (profiles: Map<string, string | null>, askedTs: number) => Promise<unknown>;
  /** Servers asked at once (default 4). */
  concurrency?: number;
  /** Users per query (default and maximum 1000). */
  batchSize?: number;
  /** Users waiting at most; more are dropped, to be wanted again when next seen (default 100,000). */
  maxPending?: number;
  /** [0, 1), for the backoff's jitter (default Math.random). */
  random?: () => number;
}

export interface RemoteProfiles {
  /** Queues these remote users' profiles to be asked of their servers. Returns at once. */
  want(nexusIds: Iterable<string>): void;
  /** Resolves when no query is running and none could start now (for tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createRemoteProfiles(deps: RemoteProfilesDeps): RemoteProfiles {
  const { clock, log } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const batchSize = Math.max(1, Math.min(deps.batchSize ?? MAX_PROFILES_PER_QUERY, MAX_PROFILES_PER_QUERY));
  const maxPending = deps.maxPending ?? 100_000;
  const random = deps.random ?? Math.random;
  const pending = new Map<string, Set<string>>(); // server → users to ask about
  let pendingCount = 0;
  const asking = new Set<string>(); // users in a query now
  const running = new Map<string, Promise<void>>(); // server → its query
  const backoff = new Map<string, { failures: number; retryAt: number }>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function queue(server: string, id: string): void {
    if (asking.has(id) || pending.get(server)?.has(id) || pendingCount >= maxPending) return;
    let set = pending.get(server);
    if (!set) pending.set(server, (set = new Set()));
    set.add(id);
    pendingCount++;
  }

  function take(server: string): string[] {
    const set = pending.get(server)!;
    const ids: string[] = [];
    for (const id of set) {
      if (ids.length >= batchSize) break;
      ids.push(id);
    }
    for (const id of ids) set.delete(id);
    if (set.size === 0) pending.delete(server);
    pendingCount -= ids.length;
    return ids;
  }

  /** Servers with users waiting whose backoff is over and that no query is asking now. */
  function due(now: number): string[] {
    return [...pending.keys()].filter((s) => !running.has(s) && (backoff.get(s)?.retryAt ?? 0) <= now);
  }

  function pump(): void {
    if (closed) return;
    for (const server of due(clock.now())) {
      if (running.size >= concurrency) break;
      const ids = take(server);
      const run = ask(server, ids).finally(() => {
        running.delete(server);
        pump();
      });
      running.set(server, run);
    }
    scheduleRetry();
  }

  /** Wakes up when the earliest backoff of a server with users waiting ends. */
  function scheduleRetry(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (closed || running.size >= concurrency) return; // a finishing query pumps again
    const waits = [...pending.keys()].filter((s) => !running.has(s)).map((s) => backoff.get(s)?.retryAt ?? 0);
    if (waits.length === 0) return;
    timer = setTimeout(pump, Math.max(0, Math.min(...waits) - clock.now()) + 10);
    timer.unref();
  }

  async function ask(server: string, ids: string[]): Promise<void> {
    for (const id of ids) asking.add(id);
    const askedTs = clock.now();
    let profiles: Map<string, string | null>;
    try {
      profiles = await deps.fetch(server, ids);
    } catch (err) {
      for (const id of ids) asking.delete(id);
      // Never thrown on: names are a nicety. A peer that answered 4xx (say, one without
      // this endpoint) would answer the same again, so its users wait until next seen;
      // the others are asked again when the backoff ends.
      const failures = (backoff.get(server)?.failures ?? 0) + 1;
      const kind = classifyError(err);
      backoff.set(server, { failures, retryAt: clock.now() + retryDelayMs(failures, random) });
      log[failures === 1 ? 'info' : 'debug']({ server, users: ids.length, failures, kind, err: (err as Error).message }, 'could not learn remote profiles');
      if (kind !== 'rejected' && kind !== 'bad_response' && !closed) for (const id of ids) queue(server, id);
      return;
    }
    backoff.delete(server);
    try {
      await deps.store(profiles, askedTs);
      log.debug({ server, users: ids.length }, 'learnt remote profiles');
    } catch (err) {
      // Our side failed (the database): the users are asked again when next seen.
      log.warn({ err, server, users: ids.length }, 'could not store remote profiles');
    } finally {
      for (const id of ids) asking.delete(id);
    }
  }

  return {
    want(nexusIds) {
      if (closed) return;
      for (const id of nexusIds) {
        const server = serverOf(id);
        if (server && deps.allowServer(server)) queue(server, id);
      }
      pump();
    },
    async idle() {
      while (running.size > 0 || (!closed && due(clock.now()).length > 0)) {
        if (running.size === 0) pump();
        await Promise.allSettled([...running.values()]);
      }
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...running.values()]);
      pending.clear();
    },
  };
}
