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
import type { RoomWriter } from '../guilds/room-writer.js';
import type { StateStore } from '../store/state-store.js';
import { createVerifierPool } from './inbound/verifier-pool.js';
import { createHistoryBackfill, type HistoryBackfill } from './history-backfill.js';
import { createPduReceiver } from './inbound/receive-pdus.js';
import { roomExists } from '../store/append-events.js';
import { transactionRouter } from './inbound/transaction-route.js';
import type { Edu } from './sender/transaction.js';
import { readEndpointsRouter } from './read-endpoints/routes.js';
import { residentJoinRouter } from './joins/resident-join.js';
import { joinRemoteGuild, joinRemoteRoom, queryRemoteInvite, type RemoteInvite } from './joins/remote-join.js';
import { inviteRouter, sendInvite } from './joins/invites.js';
import type { DmFederation } from '../guilds/dm-service.js';
import { serverOf } from '../events/event-types.js';
import { profilesQueryRouter } from './profile-queries.js';

export interface FederationDeps {
  serverName: string;
  db: Db;
  clock: Clock;
  log: Logger;
  keys: () => ServerKeys;
  trust: TrustPolicy;
  /** Plain HTTP to peers (NEXUS_FEDERATION_INSECURE=1): tests and loopback only. */
  insecure: boolean;
  writer: RoomWriter;
  stateStore: StateStore;
  /** Gives users of other servers a local row (accounts.ensureRemoteUsers). */
  ensureUsers: (nexusIds: string[]) => Promise<void>;
  /** A peer proved who it is with a signed request: it is up (the sender's backoff ends). */
  onPeerSeen?: (origin: string) => void;
  /** Ephemeral events from peers (typing), for the gateway. */
  onEdu?: (origin: string, edu: Edu) => void;
  /** Rounds of get_missing_events spent on a gap before its rest is fetched as history. */
  maxGapRounds?: number;
}

export interface Federation {
  /** The server-server API, under /_nexus/federation/v1 (every request signed by its origin). */
  router: Router;
  /** Signed requests to other servers. */
  client: FederationClient;
  keyStore: RemoteKeyStore;
  /** Joins one of our users to a guild on another server through an invite code. */
  joinRemote(code: string, server: string, userId: string): Promise<{ roomId: string; channelKey: string }>;
  /** What another server says of one of its invite codes (an invite's preview). */
  remoteInvite(code: string, server: string): Promise<RemoteInvite>;
  /** DMs with users of other servers: their profile, and the invite that makes their server join them. */
  dms: DmFederation;
  /** Older history of guilds joined from other servers, fetched on demand. */
  history: HistoryBackfill;
  close(): Promise<void>;
}

/**
 * The federation side of a homeserver: peers' keys, the client that signs our requests, and
 * the server-server API (transactions, reads of events and state, joins, profiles and the
 * public directory), every request authenticated by the middleware first.
 */
export function createFederation(deps: FederationDeps): Federation {
  const resolver = createServerResolver({ clock: deps.clock, insecure: deps.insecure });
  const client = createFederationClient({
    serverName: deps.serverName,
    signingKey: () => deps.keys().current,
    resolve: (name) => resolver.resolveServer(name),
    insecure: deps.insecure,
    // Our own keys are fetched like anyone's (to check events we signed that come back).
    allowDestination: (server) => server === deps.serverName || deps.trust.allows(server),
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
    onAuthenticated: deps.onPeerSeen,
  }));

  // GET query/profile?user_id=@u:ourserver → the display name and avatar of a local user.
  router.get(`${FEDERATION_PATH_PREFIX}/query/profile`, async (req, res) => {
    const userId = req.query.user_id;
    if (typeof userId !== 'string') throw federationError('N_MISSING_PARAM', 'user_id is required');
    const user = userId.endsWith(`:${deps.serverName}`) ? await getUserByNexusId(deps.db, userId) : undefined;
    if (!user || !user.local) throw federationError('N_NOT_FOUND', 'no such user here');
    res.json({ user_id: user.nexus_id, displayname: user.display_name ?? user.username, avatar_url: user.avatar });
  });
  // POST query/profiles {"user_ids"} → many local users' profiles at once (remote-profiles.ts asks it).
  router.use(profilesQueryRouter({ db: deps.db, serverName: deps.serverName }));

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

  const verifiers = createVerifierPool();
  const history = createHistoryBackfill({ db: deps.db, serverName: deps.serverName, client, keys: keyStore, writer: deps.writer, ensureUsers: deps.ensureUsers, log: deps.log });
  const receiver = createPduReceiver({ db: deps.db, writer: deps.writer, keys: keyStore, client, ensureUsers: deps.ensureUsers, log: deps.log, verifiers, history, maxGapRounds: deps.maxGapRounds });
  router.use(transactionRouter({ db: deps.db, clock: deps.clock, receiver, onEdu: deps.onEdu }));
  router.use(readEndpointsRouter({
    db: deps.db, serverName: deps.serverName, clock: deps.clock,
    stateAfter: (id) => deps.stateStore.stateAfter(id),
    currentState: async (roomId) => ((await roomExists(deps.db, roomId)) ? deps.writer.stateOf(roomId) : undefined),
  }));
  const signingKey = () => deps.keys().current;
  router.use(residentJoinRouter({ db: deps.db, clock: deps.clock, serverName: deps.serverName, signingKey, writer: deps.writer, stateStore: deps.stateStore, keys: keyStore, ensureUsers: deps.ensureUsers }));
  const joinDeps = { serverName: deps.serverName, clock: deps.clock, signingKey, client, keys: keyStore, writer: deps.writer, ensureUsers: deps.ensureUsers, log: deps.log, history };
  router.use(inviteRouter({
    db: deps.db, serverName: deps.serverName, signingKey, keys: keyStore, writer: deps.writer,
    join: (server, roomId, userId) => joinRemoteRoom(joinDeps, server, roomId, userId),
  }));

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
    joinRemote: (code, server, userId) => joinRemoteGuild(joinDeps, code, server, userId),
    remoteInvite: (code, server) => queryRemoteInvite(client, code, server),
    history,
    dms: {
      async checkUser(userId) {
        await client.get(serverOf(userId), `${FEDERATION_PATH_PREFIX}/query/profile?user_id=${encodeURIComponent(userId)}`);
      },
      invite: (invite, state) => sendInvite(client, invite, state),
    },
    async close() {
      await history.close();
      await verifiers.close();
      await client.close();
      await resolver.close();
    },
  };
}
