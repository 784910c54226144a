import type { Logger } from 'pino';
import { serverOf, type StoredEvent } from '../events/event-types.js';
import type { RoomWriter } from '../guilds/room-writer.js';
import { extendSegment, heldBefore, inDag, readSegments, replaceSegment, roomsWithGaps, type FrontierSegment } from '../store/backfill-frontier.js';
import type { Db } from '../store/database.js';
import { earliestReceivedTsOf, eventIdsInLog, getLoggedEvent } from '../store/event-log.js';
import type { FederationClient } from './federation-client.js';
import { checkPdu } from './inbound/check-pdu.js';
import { byDepth, usersNamedBy } from './inbound/receive-pdus.js';
import type { RemoteKeyStore } from './remote-keys.js';
import { FEDERATION_PATH_PREFIX as P } from './request-auth-middleware.js';

export interface HistoryBackfillDeps {
  db: Db;
  serverName: string;
  client: Pick<FederationClient, 'get'>;
  keys: RemoteKeyStore;
  writer: Pick<RoomWriter, 'submitRemote'>;
  ensureUsers: (ids: string[]) => Promise<void>;
  log: Pick<Logger, 'info' | 'warn'>;
}

/**
 * 'more': a page was fetched and older history is left; 'last': the last page was fetched;
 * 'done': there was nothing older to fetch; 'failed': no server answered.
 */
export type BackfillOutcome = 'more' | 'last' | 'done' | 'failed';

/** Frontier ids asked for per request (the spec allows 100 `v`). */
const V_PER_REQUEST = 20;
/** Auth events of a page fetched one by one when we lack them (e.g. a long-gone member's join). */
const MAX_AUTH_FETCHES = 50;
/** Servers tried per page. */
const MAX_SERVERS = 3;

/** Pages (of up to 100 events) one background run fetches for a guild's gaps: a million events. */
const MAX_GAP_PAGES_PER_RUN = 10_000;
const GAP_RETRY_MS = 60_000;
const GAP_RETRY_MAX_MS = 3_600_000;

/**
 * History fetched on demand (spec/federation.md, "History"): from a segment of a guild's
 * backfill frontier, a page of older events through GET backfill, with the auth events its
 * messages cite that we lack, stored as history outliers (placed in the timeline before
 * what they precede), after which the segment moves to the page's own prev_events.
 *
 * Two kinds of segments: the history before a join (the join fetches its first page, the
 * client API more when someone pages back past what is held), and the gaps a catch-up
 * could not fetch in the DAG (fetched in the background at once, and again at start-up
 * until done), so that no message written while this server was away is lost.
 */
export function createHistoryBackfill(deps: HistoryBackfillDeps) {
  const inflight = new Map<string, Promise<BackfillOutcome>>();
  const gapRuns = new Map<string, Promise<void>>();
  const gapFailures = new Map<string, number>(); // room → runs in a row that no server answered
  let closed = false;

  /**
   * The history before a join (its prev_events) is what is missing. For a rejoin, only
   * what happened while we were away is: a gap, placed before the join.
   */
  async function begin(roomId: string, joinEventId: string): Promise<void> {
    const join = await getLoggedEvent(deps.db, joinEventId);
    if (!join) return;
    const prevs = join.pdu.prev_events;
    const dag = await inDag(deps.db, prevs);
    const missing = prevs.filter((id) => !dag.has(id));
    if (await heldBefore(deps.db, roomId, join.event_id)) return gap(roomId, missing, join.received_ts);
    await extendSegment(deps.db, roomId, null, missing);
  }

  /** One page of the history before the join (one at a time per guild: concurrent callers share it). */
  function older(roomId: string, opts: { limit?: number; server?: string } = {}): Promise<BackfillOutcome> {
    let p = inflight.get(roomId);
    if (!p) {
      p = (async () => {
        const segment = (await readSegments(deps.db, roomId)).find((s) => s.before === null);
        return segment ? fetchPage(roomId, segment, opts.limit ?? 100, opts.server) : 'done';
      })().finally(() => inflight.delete(roomId));
      inflight.set(roomId, p);
    }
    return p;
  }

  /**
   * A gap the DAG could not close: `missing` (prev_events the server lacks) and their
   * ancestors down to what it holds, placed before `before` (when the event after the gap
   * was logged). Recorded, then fetched in the background.
   */
  async function gap(roomId: string, missing: readonly string[], before: number): Promise<void> {
    await extendSegment(deps.db, roomId, before, missing);
    fillGaps(roomId);
  }

  /**
   * Fetches a guild's gaps in the background, a page at a time, one run per guild at a
   * time. When no server answers, it tries again later (1 min, doubling up to an hour).
   */
  function fillGaps(roomId: string): void {
    if (closed || gapRuns.has(roomId)) return;
    const run = (async (): Promise<'done' | 'failed'> => {
      // Bounded, so a peer that makes up endless history cannot keep us at it for good
      // (the rest waits for the next gap or restart).
      for (let pages = 0; pages < MAX_GAP_PAGES_PER_RUN && !closed; pages++) {
        const segment = (await readSegments(deps.db, roomId)).find((s) => s.before !== null);
        if (!segment) return 'done';
        if ((await fetchPage(roomId, segment, 100)) === 'failed') return 'failed';
      }
      return 'done';
    })()
      .catch((err) => {
        deps.log.warn({ err, roomId }, 'could not fetch the history of a gap');
        return 'failed' as const;
      })
      .then((outcome) => {
        gapRuns.delete(roomId);
        const failures = outcome === 'failed' ? (gapFailures.get(roomId) ?? 0) + 1 : 0;
        if (failures === 0) gapFailures.delete(roomId);
        else gapFailures.set(roomId, failures);
        if (outcome === 'failed' && !closed) setTimeout(() => fillGaps(roomId), Math.min(GAP_RETRY_MAX_MS, GAP_RETRY_MS * 2 ** (failures - 1))).unref();
      });
    gapRuns.set(roomId, run);
  }

  /** At start-up: the gaps left unfetched when the server stopped. */
  async function resumeGaps(): Promise<void> {
    for (const roomId of await roomsWithGaps(deps.db)) fillGaps(roomId);
  }

  /** Resolves when no history is being fetched (for tests). */
  async function idle(): Promise<void> {
    while (gapRuns.size > 0 || inflight.size > 0) await Promise.allSettled([...gapRuns.values(), ...inflight.values()]);
  }

  /** Stops the background runs after their current page (the rest is fetched after a restart). */
  async function close(): Promise<void> {
    closed = true;
    await idle();
  }

  async function fetchPage(roomId: string, segment: FrontierSegment, limit: number, preferred?: string): Promise<BackfillOutcome> {
    const asked = segment.eventIds.slice(0, V_PER_REQUEST);
    const query = `${asked.map((id) => `v=${encodeURIComponent(id)}`).join('&')}&limit=${limit}`;
    let raws: unknown[] | undefined;
    let from = '';
    for (const server of await serversToAsk(roomId, preferred)) {
      try {
        const page = await deps.client.get<{ pdus?: unknown }>(server, `${P}/backfill/${encodeURIComponent(roomId)}?${query}`);
        raws = Array.isArray(page.pdus) ? page.pdus : [];
        from = server;
        break;
      } catch (err) {
        deps.log.info({ err, server, roomId }, 'backfill request failed');
      }
    }
    if (!raws) return 'failed';

    const page: StoredEvent[] = [];
    const redacted = new Set<string>();
    for (const raw of raws) {
      const checked = await checkPdu(raw, roomId, deps.keys);
      if (!checked.ok) continue;
      page.push(checked.event);
      if (checked.redacted) redacted.add(checked.event.event_id);
    }
    // Only the page's messages, reactions, edits and deletions are stored: its state events
    // (and the auth events fetched for it) are older than the guild's state here and only
    // serve to authorize them. Stored, they would be the newest events of their slots in
    // the log, and a rebuild would take them for the state.
    const isState = (e: StoredEvent) => typeof e.pdu.state_key === 'string';
    const shown = page.filter((e) => !isState(e));
    const auth = await missingAuthEvents(from, roomId, shown, page);
    await deps.ensureUsers(usersNamedBy(shown));
    await deps.writer.submitRemote(roomId, {
      events: [], outliers: byDepth(shown), authContext: [...auth, ...page.filter(isState)], redacted,
      history: segment.before === null ? {} : { before: segment.before },
    });

    // The segment moves past what came back: to the page's prev_events that neither came
    // with it nor are in our DAG. (An event held only as part of a joined guild's state is
    // still walked through: the history before it is not here.) Asked ids that did not
    // come back are dropped: the peer has nothing before them to give.
    const got = new Set(page.map((e) => e.event_id));
    const prevs = [...new Set(page.flatMap((e) => e.pdu.prev_events))].filter((id) => !got.has(id));
    const dag = await inDag(deps.db, prevs);
    const next = [...new Set([...segment.eventIds.slice(V_PER_REQUEST), ...prevs.filter((id) => !dag.has(id))])];
    // A gap's next page goes before this one. (The history before a join goes before the
    // earliest time in the guild's log, which this page has just moved.)
    const placedFrom = segment.before === null ? null : Math.min(segment.before, (await earliestReceivedTsOf(deps.db, shown.map((e) => e.event_id))) ?? segment.before);
    await replaceSegment(deps.db, roomId, segment.before, next, placedFrom);
    return next.length > 0 ? 'more' : 'last';
  }

  /** The auth events that `events` cite that neither came with the page nor are held here. */
  async function missingAuthEvents(server: string, roomId: string, events: StoredEvent[], page: StoredEvent[]): Promise<StoredEvent[]> {
    const got = new Set(page.map((e) => e.event_id));
    const cited = [...new Set(events.flatMap((e) => e.pdu.auth_events ?? []))].filter((id) => !got.has(id));
    const held = await eventIdsInLog(deps.db, cited);
    const out: StoredEvent[] = [];
    for (const id of cited.filter((a) => !held.has(a)).slice(0, MAX_AUTH_FETCHES)) {
      try {
        const body = await deps.client.get<{ pdus?: unknown }>(server, `${P}/event/${encodeURIComponent(id)}`);
        const checked = Array.isArray(body.pdus) && body.pdus.length === 1 ? await checkPdu(body.pdus[0], roomId, deps.keys) : undefined;
        if (checked?.ok && !checked.redacted && checked.event.event_id === id) out.push(checked.event);
      } catch (err) {
        deps.log.info({ err, server, roomId, event_id: id }, 'could not fetch an auth event of backfilled history');
      }
    }
    return out;
  }

  /** The guild's own server first, then other servers with members in it. */
  async function serversToAsk(roomId: string, preferred?: string): Promise<string[]> {
    const rows = await deps.db.selectFrom('members').select('user_id').where('room_id', '=', roomId).where('membership', '=', 'join').limit(1000).execute();
    const servers = [preferred, serverOf(roomId), ...rows.map((r) => serverOf(r.user_id))].filter((s): s is string => !!s && s !== deps.serverName);
    return [...new Set(servers)].slice(0, MAX_SERVERS);
  }

  return { begin, older, gap, resumeGaps, idle, close };
}

export type HistoryBackfill = ReturnType<typeof createHistoryBackfill>;
