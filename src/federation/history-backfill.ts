import type { Logger } from 'pino';
import { serverOf, type StoredEvent } from '../events/event-types.js';
import type { RoomWriter } from '../guilds/room-writer.js';
import { extendFrontier, inDag, inLog, readFrontier, replaceFrontier } from '../store/backfill-frontier.js';
import type { Db } from '../store/database.js';
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

/**
 * History of guilds joined from another server, fetched on demand (spec/federation.md,
 * "History"): from the guild's backfill frontier, a page of older events through GET
 * backfill, with the auth events its messages cite that we lack, stored as history
 * outliers (placed before everything already shown), after which the frontier moves to
 * the page's own prev_events. The join fetches the first page; the client API fetches more
 * when someone pages back past what is held.
 */
export function createHistoryBackfill(deps: HistoryBackfillDeps) {
  const inflight = new Map<string, Promise<BackfillOutcome>>();

  /** The history before a join (its prev_events) is what is missing. */
  async function begin(roomId: string, joinPrevEvents: readonly string[]): Promise<void> {
    const dag = await inDag(deps.db, joinPrevEvents);
    await extendFrontier(deps.db, roomId, joinPrevEvents.filter((id) => !dag.has(id)));
  }

  /** One page of older history (one at a time per guild: concurrent callers share it). */
  function older(roomId: string, opts: { limit?: number; server?: string } = {}): Promise<BackfillOutcome> {
    let p = inflight.get(roomId);
    if (!p) {
      p = fetchPage(roomId, opts.limit ?? 100, opts.server).finally(() => inflight.delete(roomId));
      inflight.set(roomId, p);
    }
    return p;
  }

  async function fetchPage(roomId: string, limit: number, preferred?: string): Promise<BackfillOutcome> {
    const frontier = await readFrontier(deps.db, roomId);
    if (frontier.length === 0) return 'done';
    const asked = frontier.slice(0, V_PER_REQUEST);
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
    const auth = await missingAuthEvents(from, roomId, page);
    const isState = (e: StoredEvent) => typeof e.pdu.state_key === 'string';
    const shown = page.filter((e) => !isState(e));
    await deps.ensureUsers(usersNamedBy(shown));
    await deps.writer.submitRemote(roomId, { events: [], outliers: byDepth(shown), authContext: [...auth, ...page.filter(isState)], redacted, history: true });

    // The frontier moves past what came back: to the page's prev_events that neither came
    // with it nor are in our DAG. (An event held only as part of a joined guild's state is
    // still walked through: the history before it is not here.) Asked ids that did not
    // come back are dropped: the peer has nothing before them to give.
    const got = new Set(page.map((e) => e.event_id));
    const prevs = [...new Set(page.flatMap((e) => e.pdu.prev_events))].filter((id) => !got.has(id));
    const dag = await inDag(deps.db, prevs);
    const next = [...new Set([...frontier.slice(V_PER_REQUEST), ...prevs.filter((id) => !dag.has(id))])];
    await replaceFrontier(deps.db, roomId, next);
    return next.length > 0 ? 'more' : 'last';
  }

  /** The auth events the page's events cite that neither came with it nor are held here. */
  async function missingAuthEvents(server: string, roomId: string, page: StoredEvent[]): Promise<StoredEvent[]> {
    const got = new Set(page.map((e) => e.event_id));
    const cited = [...new Set(page.flatMap((e) => e.pdu.auth_events ?? []))].filter((id) => !got.has(id));
    const held = await inLog(deps.db, cited);
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

  return { begin, older };
}

export type HistoryBackfill = ReturnType<typeof createHistoryBackfill>;
