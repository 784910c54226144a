// Boundary validation of the read endpoints' parameters (spec/federation.md, Endpoints).
// Every bad input is a 400 with a message that says what was wrong.
import { isEventId } from '../../events/event-id.js';
import { federationError } from '../errors.js';

export const BACKFILL_DEFAULT_LIMIT = 50;
export const BACKFILL_MAX_LIMIT = 100;
export const MISSING_DEFAULT_LIMIT = 10;
export const MISSING_MAX_LIMIT = 100;
/** Most event ids a request may name in one list (`v`, earliest_events, latest_events). */
export const MAX_NAMED_EVENTS = 100;

/** A room id: `!opaque:server`, at most 255 characters. */
export function parseRoomId(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 255 || !/^![^:]+:.+$/.test(raw)) {
    throw federationError('N_INVALID_PARAM', 'the room id must look like !opaque:server');
  }
  return raw;
}

export function parseEventId(raw: unknown, what: string): string {
  if (typeof raw !== 'string' || !isEventId(raw)) throw federationError('N_INVALID_PARAM', `${what} must be an event id ($ and 43 base64url characters)`);
  return raw;
}

/** The query string of a request exactly as sent (independent of the app's query parser,
 *  and so of how it treats repeated keys). */
export function searchParamsOf(originalUrl: string): URLSearchParams {
  const q = originalUrl.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : originalUrl.slice(q + 1));
}

/** The value of a query parameter that may appear at most once. */
function single(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw federationError('N_INVALID_PARAM', `${name} may be given only once`);
  return all[0];
}

function parseLimit(raw: string | undefined, def: number, max: number): number {
  if (raw === undefined) return def;
  const n = /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) throw federationError('N_INVALID_PARAM', `limit must be an integer from 1 to ${max}`);
  return n;
}

/** GET state/{roomId} and state_ids/{roomId}: `?event_id=` (optional). */
export function parseStateQuery(params: URLSearchParams): { eventId?: string } {
  const raw = single(params, 'event_id');
  return raw === undefined ? {} : { eventId: parseEventId(raw, 'event_id') };
}

/** GET backfill/{roomId}: `?v=ID` (1..100 times) `&limit=N` (1..100, default 50). */
export function parseBackfillQuery(params: URLSearchParams): { from: string[]; limit: number } {
  const v = params.getAll('v');
  if (v.length === 0) throw federationError('N_MISSING_PARAM', 'v (an event id to backfill from) is required');
  if (v.length > MAX_NAMED_EVENTS) throw federationError('N_INVALID_PARAM', `at most ${MAX_NAMED_EVENTS} v parameters`);
  const from = [...new Set(v.map((id) => parseEventId(id, 'v')))];
  return { from, limit: parseLimit(single(params, 'limit'), BACKFILL_DEFAULT_LIMIT, BACKFILL_MAX_LIMIT) };
}

export interface MissingEventsBody {
  earliest: string[];
  latest: string[];
  limit: number;
  minDepth: number;
}

function eventIdList(body: Record<string, unknown>, name: string, minLength: number): string[] {
  const list = body[name];
  if (!Array.isArray(list) || !list.every((id) => typeof id === 'string' && isEventId(id))) {
    throw federationError('N_BAD_JSON', `${name} must be an array of event ids`);
  }
  if (list.length < minLength || list.length > MAX_NAMED_EVENTS) {
    throw federationError('N_INVALID_PARAM', `${name} must hold ${minLength} to ${MAX_NAMED_EVENTS} event ids`);
  }
  return [...new Set(list as string[])];
}

/** POST get_missing_events/{roomId}: `{earliest_events, latest_events, limit?, min_depth?}`. */
export function parseMissingEventsBody(body: unknown): MissingEventsBody {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw federationError('N_BAD_JSON', 'the body must be a JSON object with earliest_events and latest_events');
  }
  const b = body as Record<string, unknown>;
  const earliest = eventIdList(b, 'earliest_events', 0);
  const latest = eventIdList(b, 'latest_events', 1);
  const limit = b.limit ?? MISSING_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MISSING_MAX_LIMIT) {
    throw federationError('N_INVALID_PARAM', `limit must be an integer from 1 to ${MISSING_MAX_LIMIT}`);
  }
  const minDepth = b.min_depth ?? 0;
  if (!Number.isSafeInteger(minDepth) || (minDepth as number) < 0) {
    throw federationError('N_INVALID_PARAM', 'min_depth must be a non-negative integer');
  }
  return { earliest, latest, limit: limit as number, minDepth: minDepth as number };
}
