import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createAccounts } from './accounts/accounts.js';
import type { ScryptCost } from './accounts/passwords.js';
import { createHttpApp } from './api/app.js';
import type { ApiContext } from './api/context.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { createAudience } from './fanout/audience.js';
import { createFanoutContext } from './fanout/fanout-context.js';
import { createGatewayBackend } from './fanout/gateway-backend.js';
import { createLogDispatcher } from './fanout/log-dispatcher.js';
import { createFederation, type Federation } from './federation/federation-server.js';
import { keyServerRouter } from './federation/key-server.js';
import { createTrustPolicy } from './federation/trust.js';
import { createFederationSender, type FederationSender } from './federation/sender/index.js';
import { loadOrCreateServerKeys, type ServerKeys } from './federation/server-keys.js';
import { createGateway } from './gateway/gateway-server.js';
import type { Gateway } from './gateway/gateway-types.js';
import { createDmService } from './guilds/dm-service.js';
import { createTyping } from './fanout/typing.js';
import { createPresence, PRESENCE_EDU } from './fanout/presence.js';
import { createProfileDispatches, type ProfileDispatches } from './fanout/profile-dispatches.js';
import { PROFILE_EDU, receiveProfileEdu } from './federation/profile-edu.js';
import { queryProfiles } from './federation/profile-queries.js';
import { createRemoteProfiles, type RemoteProfiles } from './federation/remote-profiles.js';
import { createGuildService, type GuildService } from './guilds/guild-service.js';
import { createRoomWriter, type RoomWriter } from './guilds/room-writer.js';
import { createLogger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createSnowflakeGenerator } from './snowflake.js';
import { openDatabase, type DatabaseOptions, type OpenedDatabase } from './store/database.js';
import { createLogTailer, type LogTailer } from './store/log-tailer.js';
import { createStateStore } from './store/state-store.js';

export interface HomeserverOptions {
  clock?: Clock;
  log?: Logger;
  /** Overrides where the database is (tests: an in-memory PGlite or a fresh Postgres database). */
  database?: DatabaseOptions;
  passwordCost?: ScryptCost;
  /** Export Node process metrics (off when several homeservers share a test process). */
  processMetrics?: boolean;
  /**
   * How big a backlog for a peer may grow before the sender catches it up with the newest
   * events only (default 1,000), and how many rounds of get_missing_events the receiver
   * spends on a gap before taking the state and fetching the rest as history (default 200).
   * Small in tests, to make gaps.
   */
  federationLimits?: { catchUpThreshold?: number; maxGapRounds?: number };
}

export interface Homeserver {
  config: Config;
  /** http://host:port of the running server. */
  url: string;
  gatewayUrl: string;
  log: Logger;
  database: OpenedDatabase;
  keys: ServerKeys;
  writer: RoomWriter;
  guilds: GuildService;
  gateway: Gateway;
  /** Absent when NEXUS_FEDERATION=off. */
  federation?: Federation;
  /** The outbound federation queue (absent when NEXUS_FEDERATION=off). */
  sender?: FederationSender;
  metrics: Metrics;
  tailer: LogTailer;
  close(): Promise<void>;
}

/**
 * Builds and starts one homeserver from its configuration. This is the only place where
 * things with I/O are created and wired together; nothing is global, so one process can
 * run several homeservers side by side (the multi-server tests do).
 */
export async function startHomeserver(config: Config, opts: HomeserverOptions = {}): Promise<Homeserver> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger({ level: config.logLevel, pretty: process.stdout.isTTY });
  const keys = await loadOrCreateServerKeys(config.dataDir, clock);
  const database = await openDatabase(opts.database ?? { databaseUrl: config.databaseUrl, pgliteDir: join(config.dataDir, 'pglite') });
  const { db } = database;
  const metrics = createMetrics({ processMetrics: opts.processMetrics ?? true, defaultLabels: { server: config.serverName } });

  let tailer: LogTailer | undefined;
  let sender: FederationSender | undefined;
  const stateStore = createStateStore(db);
  const writer = createRoomWriter({
    db, clock, serverName: config.serverName, signingKey: () => keys.current, stateStore,
    onAppended(events, origin) {
      for (const e of events) metrics.countAppended(origin, e.pdu.type);
      tailer?.poke(); // don't wait for the NOTIFY round trip to fan out our own events
      sender?.wake();
    },
  });
  const guilds = createGuildService({ writer, serverName: config.serverName });
  // Remote users' profiles are learnt in the background (remoteProfiles, with federation),
  // and any user's new display name is announced by profileDispatches; both are made below.
  let remoteProfiles: RemoteProfiles | undefined;
  let profileDispatches: ProfileDispatches | undefined;
  const accounts = createAccounts({
    db, clock, serverName: config.serverName, newSnowflake: createSnowflakeGenerator(clock), passwordCost: opts.passwordCost,
    wantProfiles: (ids) => remoteProfiles?.want(ids),
    onProfilesChanged: (ids) => void profileDispatches?.changed(ids).catch((err) => log.warn({ err }, 'could not announce a profile change')),
  });

  const trust = createTrustPolicy({ mode: config.federation.mode, allow: config.federation.allow });
  const federation = config.federation.mode === 'off' ? undefined : createFederation({
    serverName: config.serverName, db, clock, log, keys: () => keys, trust,
    insecure: config.federation.insecure,
    writer, stateStore, maxGapRounds: opts.federationLimits?.maxGapRounds,
    ensureUsers: (ids) => accounts.ensureRemoteUsers(ids),
    onPeerSeen: (origin) => sender?.peerReachable(origin),
    // Called only once the server listens, after `typing` and `presence` below exist. By EDU type.
    onEdu: (origin, edu) => {
      const handled = edu.edu_type === PROFILE_EDU
        ? receiveProfileEdu(origin, edu, { now: () => clock.now(), store: (p, ts) => accounts.storeRemoteProfiles(p, ts) })
        : edu.edu_type === PRESENCE_EDU ? presence.received(origin, edu) : typing.received(origin, edu);
      void handled.catch((err) => log.warn({ err, origin, edu_type: edu.edu_type }, 'could not handle a peer\'s EDU'));
    },
  });
  const audience = createAudience(db);
  const fanout = createFanoutContext({
    db, writer, audience,
    publish: (d) => {
      if (log.isLevelEnabled('debug')) log.debug({ t: d.t, recipients: d.recipients.size, guild: d.guildId }, 'dispatch');
      gateway!.publish(d);
    },
  });
  const typing = createTyping({ fanout, now: () => clock.now(), sendEdu: (roomId, edu) => sender?.queueEdu(roomId, edu) });
  const presence = createPresence({ fanout, serverName: config.serverName, sendEdu: (server, edu) => sender?.queueEduTo(server, edu) });
  profileDispatches = createProfileDispatches({ fanout, serverName: config.serverName, sendEdu: (server, edu) => sender?.queueEduTo(server, edu) });
  remoteProfiles = federation && createRemoteProfiles({
    clock, log: log.child({ component: 'remote-profiles' }), allowServer: (server) => trust.allows(server),
    fetch: (server, ids) => queryProfiles(federation.client, server, ids),
    // An answer never undoes a nexus.profile EDU that arrived while it was asked.
    store: (profiles, askedTs) => accounts.storeRemoteProfiles(profiles, askedTs, { unlessNewerThan: askedTs }),
  });
  const dms = createDmService({ db, writer, serverName: config.serverName, federation: federation?.dms, ensureUsers: (ids) => accounts.ensureRemoteUsers(ids) });
  const server: Server = createServer();
  let gateway: Gateway | undefined;
  let gatewayUrl = '';
  const ctx: ApiContext = {
    db, clock, config, log, accounts, guilds, dms, writer,
    typing,
    gatewayUrl: () => gatewayUrl,
    joinRemote: federation ? (code, server, userId) => federation.joinRemote(code, server, userId) : undefined,
    remoteInvite: federation ? (code, server) => federation.remoteInvite(code, server) : undefined,
    olderHistory: federation ? (roomId) => federation.history.older(roomId) : undefined,
    remoteDirectory: federation
      ? (remote, query) => {
          const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
          return federation.client.get(remote, `/_nexus/federation/v1/publicGuilds${qs.size ? `?${qs}` : ''}`);
        }
      : undefined,
  };
  const app = createHttpApp(ctx, {
    metrics,
    extra: [keyServerRouter({ serverName: config.serverName, keys: () => keys, clock }), ...(federation ? [federation.router] : [])],
  });
  server.on('request', app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  gatewayUrl = config.publicBaseUrl ? `${config.publicBaseUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/gateway` : `${url.replace(/^http/, 'ws')}/gateway`;

  gateway = createGateway({
    server, path: '/gateway', clock, log,
    backend: createGatewayBackend({ db, accounts, fanout, presence }),
    heartbeatIntervalMs: config.gateway.heartbeatIntervalMs,
    resumeWindowMs: config.gateway.resumeWindowMs,
    resumeGatewayUrl: gatewayUrl,
    onMetrics: (m) => metrics.gatewaySessions.set(m.sessions),
  });
  sender = federation && createFederationSender({
    db, clock, log: log.child({ component: 'federation-sender' }), serverName: config.serverName,
    client: federation.client, allowDestination: (server) => trust.allows(server),
    listen: database.listen, metrics, catchUpThreshold: opts.federationLimits?.catchUpThreshold,
  });
  await sender?.start();
  // Gaps in guild history left by a catch-up that the server stopped before filling.
  void federation?.history.resumeGaps().catch((err) => log.warn({ err }, 'could not resume fetching history gaps'));
  tailer = createLogTailer({ database, deliver: createLogDispatcher(fanout, log), log });
  await tailer.start();

  let closed = false;
  return {
    config, url, gatewayUrl, log, database, keys, writer, guilds, gateway, federation, sender, metrics, tailer,
    async close() {
      if (closed) return;
      closed = true;
      await tailer!.stop();
      await sender?.stop();
      await gateway!.close('server shutting down');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await federation?.close(); // first: a query in flight then fails at once
      await remoteProfiles?.close();
      await database.close();
    },
  };
}
