import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Db } from '../store/database.js';
import { getUserByNexusId } from '../store/views/users.js';
import { localDirectory } from './directory.js';
import { createServerResolver } from './discovery.js';
import { federationError, FederationApiError } from './errors.js';
import { createFederationClient, type FederationClient } from './federation-client.js';
import { createRemoteKeyStore, keyFetcherVia, type RemoteKeyStore } from './remote-keys.js';
import { FEDERATION_PATH_PREFIX, federationAuthMiddleware } from './request-auth-middleware.js';
import type { ServerKeys } from './server-keys.js';
import type { TrustPolicy } from './trust.js';

export interface FederationDeps {
  serverName: string;
  db: Db;
  clock: Clock;
  log: Logger;
  keys: () => ServerKeys;
  trust: TrustPolicy;
  /** Plain HTTP to peers (NEXUS_FEDERATION_INSECURE=1): tests and loopback only. */
  insecure: boolean;
}

export interface Federation {
  /** The server-server API, under /_nexus/federation/v1 (every request signed by its origin). */
  router: Router;
  /** Signed requests to other servers. */
  client: FederationClient;
  keyStore: RemoteKeyStore;
  close(): Promise<void>;
}

/**
 * The federation side of a homeserver: peers' keys, the client that signs our requests, and
 * the server-server API. The endpoints that replicate guild events come next; for now the
 * API answers profile queries, which is enough to prove the transport end to end.
 */
export function createFederation(deps: FederationDeps): Federation {
  const resolver = createServerResolver({ clock: deps.clock, insecure: deps.insecure });
  const client = createFederationClient({
    serverName: deps.serverName,
    signingKey: () => deps.keys().current,
    resolve: (name) => resolver.resolveServer(name),
    insecure: deps.insecure,
  });
  const keyStore = createRemoteKeyStore({
    clock: deps.clock,
    fetchKeys: keyFetcherVia(client),
    onFetchError: (server, err) => deps.log.warn({ server, err }, 'could not fetch a peer\'s keys'),
  });

  const router = express.Router();
  router.use(federationAuthMiddleware({
    serverName: deps.serverName,
    trust: deps.trust,
    keys: keyStore,
    onReject: (info) => deps.log.info(info, 'federation request refused'),
  }));

  // GET query/profile?user_id=@u:ourserver → the display name and avatar of a local user.
  router.get(`${FEDERATION_PATH_PREFIX}/query/profile`, async (req, res) => {
    const userId = req.query.user_id;
    if (typeof userId !== 'string') throw federationError('N_MISSING_PARAM', 'user_id is required');
    const user = userId.endsWith(`:${deps.serverName}`) ? await getUserByNexusId(deps.db, userId) : undefined;
    if (!user || !user.local) throw federationError('N_NOT_FOUND', 'no such user here');
    res.json({ user_id: user.nexus_id, displayname: user.display_name ?? user.username, avatar_url: user.avatar });
  });

  // GET publicGuilds?q=&limit=&after= → a page of this server's public directory.
  router.get(`${FEDERATION_PATH_PREFIX}/publicGuilds`, async (req, res) => {
    const { q, limit, after } = req.query;
    if ((q !== undefined && typeof q !== 'string') || (after !== undefined && !(typeof after === 'string' && /^[0-9]{1,20}$/.test(after)))) {
      throw federationError('N_INVALID_PARAM', 'q must be text and after a cursor from a previous page');
    }
    const n = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw federationError('N_INVALID_PARAM', 'limit must be 1..100');
    res.json(await localDirectory(deps.db, deps.serverName, { q, limit: n, after }));
  });

  router.use(FEDERATION_PATH_PREFIX, () => {
    throw federationError('N_UNRECOGNIZED', 'unknown federation endpoint');
  });
  const errors: ErrorRequestHandler = (err, _req, res, _next) => {
    if (err instanceof FederationApiError) return void res.status(err.status).json(err.toBody());
    deps.log.error({ err }, 'federation request failed');
    res.status(500).json({ errcode: 'N_UNKNOWN', error: 'internal error' });
  };
  router.use(FEDERATION_PATH_PREFIX, errors);

  return {
    router,
    client,
    keyStore,
    async close() {
      await client.close();
      await resolver.close();
    },
  };
}
