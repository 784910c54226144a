// Profiles in bulk (spec/federation.md, "POST query/profiles"): the route that answers for
// our users, and the query we send for the users of another server. A join of a big guild
// records thousands of remote users at once; one request per thousand of them, not one each.
import express, { type Router } from 'express';
import { normalizeDisplayName } from '../accounts/accounts.js';
import { serverOf } from '../events/event-types.js';
import type { Db } from '../store/database.js';
import { usersByNexusIds } from '../store/views/users.js';
import { federationError, FederationRequestError } from './errors.js';
import type { FederationClient } from './federation-client.js';
import { FEDERATION_PATH_PREFIX } from './request-auth-middleware.js';

export const PROFILES_QUERY_PATH = `${FEDERATION_PATH_PREFIX}/query/profiles`;
/** Users per query (spec). */
export const MAX_PROFILES_PER_QUERY = 1000;

/** One user's profile as the protocol carries it. `avatar_url` is passed through, unused. */
export interface WireProfile {
  displayname: string | null;
  avatar_url: string | null;
}

const USER_ID = /^@[^:]+:.+$/;

/**
 * POST query/profiles {"user_ids": [...]} → {"profiles": {userId: {displayname, avatar_url}}}
 * for the local users among them; unknown users are left out. Every id must be of this
 * server: a peer asks each server about its own users.
 */
export function profilesQueryRouter(deps: { db: Db; serverName: string }): Router {
  const r = express.Router();
  r.post(PROFILES_QUERY_PATH, async (req, res) => {
    const ids = (req.body as { user_ids?: unknown } | undefined)?.user_ids;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw federationError('N_BAD_JSON', 'the body is {"user_ids": [user id, …]}');
    if (ids.length > MAX_PROFILES_PER_QUERY) throw federationError('N_INVALID_PARAM', `at most ${MAX_PROFILES_PER_QUERY} user_ids per query`);
    const foreign = (ids as string[]).find((id) => !USER_ID.test(id) || serverOf(id) !== deps.serverName);
    if (foreign !== undefined) throw federationError('N_INVALID_PARAM', `${foreign.slice(0, 300)} is not a user id of ${deps.serverName}`);
    const profiles: Record<string, WireProfile> = {};
    for (const user of (await usersByNexusIds(deps.db, ids as string[])).values()) {
      // Unlike GET query/profile, no username stands in: null says "none set", and the
      // asking server shows the username itself.
      if (user.local) profiles[user.nexus_id] = { displayname: user.display_name, avatar_url: user.avatar };
    }
    res.json({ profiles });
  });
  return r;
}

/**
 * Reads an answer to query/profiles about `asked`: each asked user's display name, null
 * for one left out (the server knows no such user) or whose name is not a valid display
 * name. Entries about users not asked for are ignored. Throws on an answer of the wrong shape.
 */
export function readProfilesAnswer(body: unknown, asked: readonly string[]): Map<string, string | null> {
  const profiles = (body as { profiles?: unknown } | null)?.profiles;
  if (profiles === null || typeof profiles !== 'object' || Array.isArray(profiles)) throw new Error('query/profiles answered without a "profiles" object');
  const out = new Map<string, string | null>();
  for (const id of asked) {
    const entry = Object.hasOwn(profiles, id) ? (profiles as Record<string, unknown>)[id] : undefined;
    const name = entry !== null && typeof entry === 'object' ? normalizeDisplayName((entry as { displayname?: unknown }).displayname) : null;
    out.set(id, name ?? null);
  }
  return out;
}

/** Asks `server` for the profiles of its users `ids` (at most MAX_PROFILES_PER_QUERY). */
export async function queryProfiles(client: Pick<FederationClient, 'post'>, server: string, ids: readonly string[]): Promise<Map<string, string | null>> {
  const body = await client.post(server, PROFILES_QUERY_PATH, { user_ids: ids });
  try {
    return readProfilesAnswer(body, ids);
  } catch (err) {
    throw new FederationRequestError({ kind: 'bad_response', destination: server, method: 'POST', path: PROFILES_QUERY_PATH, detail: (err as Error).message });
  }
}
