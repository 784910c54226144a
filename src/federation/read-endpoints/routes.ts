// The federation read endpoints (spec/federation.md, Endpoints): event, state, state_ids,
// backfill, get_missing_events. Mounted after the request-auth middleware, which sets
// res.locals.origin; every answer is for that origin only.
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { Clock } from '../../clock.js';
import type { StoredEvent } from '../../events/event-types.js';
import type { Db } from '../../store/database.js';
import { federationError, FederationApiError } from '../errors.js';
import { FEDERATION_PATH_PREFIX, type FederationLocals } from '../request-auth-middleware.js';
import { memoized, roomAccess, type StateFn } from './access.js';
import { loadAuthChain } from './auth-chain-loader.js';
import { byDepthThenId, walkBackfill, walkMissingEvents } from './dag-walk.js';
import { createRoomEventLoader, selectEventById } from './event-queries.js';
import { servedPdus } from './served-form.js';
import { parseBackfillQuery, parseEventId, parseMissingEventsBody, parseRoomId, parseStateQuery, searchParamsOf } from './params.js';

export interface ReadEndpointsDeps {
  db: Db;
  serverName: string;
  clock: Clock;
  /** The state after an event (undefined when unknown here, e.g. an outlier). */
  stateAfter: (eventId: string) => Promise<ReadonlyMap<string, StoredEvent> | undefined>;
  /** A room's current (resolved) state (undefined when the room is unknown here). */
  currentState: (roomId: string) => Promise<ReadonlyMap<string, StoredEvent> | undefined>;
}

export function readEndpointsRouter(deps: ReadEndpointsDeps): Router {
  const router = express.Router();
  const P = FEDERATION_PATH_PREFIX;

  /** The room's current state if `origin` may read it; 404 or 403 otherwise. */
  async function requireAccess(res: Response, roomId: string, atEvents: StoredEvent[], stateAfter: StateFn<string>) {
    const access = await roomAccess({ currentState: deps.currentState, stateAfter }, roomId, originOf(res), atEvents);
    if (access.ok) return access.current;
    if (access.reason === 'not_found') throw federationError('N_NOT_FOUND', 'no such room here');
    throw federationError('N_FORBIDDEN', 'your server has no member in this guild');
  }

  // GET event/{eventId} → { origin, origin_server_ts, pdus: [pdu] }
  router.get(`${P}/event/:eventId`, async (req, res) => {
    const eventId = parseEventId(req.params.eventId, 'the event id');
    const ev = await selectEventById(deps.db, eventId);
    const access = ev && (await roomAccess(deps, ev.pdu.room_id, originOf(res), [ev]));
    // One answer for "no such event" and "not yours to see", so it tells neither.
    if (!ev || !access?.ok) throw federationError('N_NOT_FOUND', 'no such event, or not visible to your server');
    res.json({ origin: deps.serverName, origin_server_ts: deps.clock.now(), pdus: await servedPdus(deps.db, [ev]) });
  });

  /** The state (after ?event_id=, else current) of a room and its auth chain. */
  async function stateWithAuthChain(req: Request, res: Response): Promise<{ state: StoredEvent[]; authChain: StoredEvent[] }> {
    const roomId = parseRoomId(req.params.roomId);
    const { eventId } = parseStateQuery(searchParamsOf(req.originalUrl));
    const stateAfter = memoized(deps.stateAfter);
    const at = eventId === undefined ? undefined : (await createRoomEventLoader(deps.db, roomId)([eventId])).get(eventId);
    const current = await requireAccess(res, roomId, at ? [at] : [], stateAfter);
    let state: ReadonlyMap<string, StoredEvent> | undefined = current;
    if (eventId !== undefined) {
      if (!at) throw federationError('N_NOT_FOUND', 'no such event in this room');
      state = await stateAfter(eventId);
      if (!state) throw federationError('N_NOT_FOUND', 'the state at this event is not known here');
    }
    const sorted = [...state.values()].sort(byDepthThenId);
    return { state: sorted, authChain: await loadAuthChain(deps.db, roomId, sorted) };
  }

  // GET state/{roomId}?event_id= → { pdus, auth_chain }
  router.get(`${P}/state/:roomId`, async (req, res) => {
    const { state, authChain } = await stateWithAuthChain(req, res);
    res.json({ pdus: state.map((e) => e.pdu), auth_chain: authChain.map((e) => e.pdu) });
  });

  // GET state_ids/{roomId}?event_id= → { pdu_ids, auth_chain_ids }
  router.get(`${P}/state_ids/:roomId`, async (req, res) => {
    const { state, authChain } = await stateWithAuthChain(req, res);
    res.json({ pdu_ids: state.map((e) => e.event_id), auth_chain_ids: authChain.map((e) => e.event_id) });
  });

  // GET backfill/{roomId}?v=ID&v=ID2&limit=N → { origin, origin_server_ts, pdus }
  router.get(`${P}/backfill/:roomId`, async (req, res) => {
    const roomId = parseRoomId(req.params.roomId);
    const { from, limit } = parseBackfillQuery(searchParamsOf(req.originalUrl));
    const load = createRoomEventLoader(deps.db, roomId, { prefetch: limit });
    const named = await load(from);
    await requireAccess(res, roomId, [...named.values()], memoized(deps.stateAfter));
    const events = await walkBackfill(load, from, limit);
    res.json({ origin: deps.serverName, origin_server_ts: deps.clock.now(), pdus: await servedPdus(deps.db, events) });
  });

  // POST get_missing_events/{roomId} {earliest_events, latest_events, limit?, min_depth?} → { events }
  router.post(`${P}/get_missing_events/:roomId`, async (req, res) => {
    const roomId = parseRoomId(req.params.roomId);
    const query = parseMissingEventsBody(req.body);
    const load = createRoomEventLoader(deps.db, roomId, { prefetch: query.limit });
    const latest = await load(query.latest);
    await requireAccess(res, roomId, [...latest.values()], memoized(deps.stateAfter));
    const events = await walkMissingEvents(load, query);
    res.json({ events: await servedPdus(deps.db, events) });
  });

  // Our refusals are answered here; anything else goes on to the federation router's
  // handler (which logs it and answers N_UNKNOWN).
  const errors: ErrorRequestHandler = (err, _req, res, next) => {
    if (err instanceof FederationApiError) return void res.status(err.status).json(err.toBody());
    next(err);
  };
  router.use(P, errors);
  return router;
}

/** The authenticated origin; fails closed if the router was mounted without the auth middleware. */
function originOf(res: Response): string {
  const origin = (res.locals as Partial<FederationLocals>).origin;
  if (typeof origin !== 'string' || origin === '') throw federationError('N_UNAUTHORIZED', 'request not authenticated');
  return origin;
}
