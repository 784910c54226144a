// Test harness: a small federation server on 127.0.0.1 port 0 with its own keys, its key
// endpoint (keyServerRouter), the request-auth middleware in front of an echo route, a
// remote key store and a federation client, all in insecure (plain HTTP) mode. Server
// names are `127.0.0.1:PORT` unless a test names it (discovery tests).
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { KEY_SERVER_PATH, keyServerRouter } from '../../src/federation/key-server.js';
import type { ServerKeys } from '../../src/federation/server-keys.js';
import { createServerResolver } from '../../src/federation/discovery.js';
import type { ServerResolver } from '../../src/federation/discovery.js';
import { createFederationClient } from '../../src/federation/federation-client.js';
import type { FederationClient } from '../../src/federation/federation-client.js';
import { createRemoteKeyStore, keyFetcherVia } from '../../src/federation/remote-keys.js';
import type { RemoteKeyStore } from '../../src/federation/remote-keys.js';
import { FEDERATION_PATH_PREFIX, federationAuthMiddleware } from '../../src/federation/request-auth-middleware.js';
import { createTrustPolicy } from '../../src/federation/trust.js';
import type { TrustPolicy } from '../../src/federation/trust.js';

export class FakeClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestServer {
  name: string;
  url: string;
  keys: ServerKeys;
  clock: FakeClock;
  /** Replaceable: the middleware reads it per request. */
  trust: TrustPolicy;
  keyStore: RemoteKeyStore;
  client: FederationClient;
  resolver: ServerResolver;
  /** GETs of our key endpoint served so far. */
  keyFetches: number;
  /** Requests that reached the echo route (i.e. passed authentication). */
  handled: Array<{ origin: string; method: string; url: string; body: unknown; host: string | undefined }>;
  rejections: Array<{ status: number; errcode: string; reason: string }>;
  app: express.Express;
  /** Retire the current key (expired_ts = now) and sign with a new one. */
  rotate(): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  clock: FakeClock;
  /** A fixed server name; default `127.0.0.1:<port>`. */
  name?: string;
  maxBodyBytes?: number;
  resolver?: ServerResolver;
}

export const ECHO_PATH = `${FEDERATION_PATH_PREFIX}/echo`;

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const name = opts.name ?? `127.0.0.1:${port}`;
  const resolver = opts.resolver ?? createServerResolver({ clock: opts.clock, insecure: true });
  let version = 0;
  const ts: TestServer = {
    name,
    url: `http://127.0.0.1:${port}`,
    keys: { current: generateSigningKey(`v${version}`), old: [] },
    clock: opts.clock,
    trust: createTrustPolicy({ mode: 'allowlist', allow: [] }),
    keyStore: undefined as unknown as RemoteKeyStore,
    client: undefined as unknown as FederationClient,
    resolver,
    keyFetches: 0,
    handled: [],
    rejections: [],
    app,
    rotate() {
      const old = ts.keys.current;
      version += 1;
      ts.keys = {
        current: generateSigningKey(`v${version}`),
        old: [...ts.keys.old, { keyId: old.keyId, publicKeyBase64: old.publicKeyBase64, expiredTs: opts.clock.now() }],
      };
    },
    async close() {
      await ts.client.close();
      if (opts.resolver === undefined) await resolver.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
  ts.client = createFederationClient({
    serverName: name,
    signingKey: () => ts.keys.current,
    resolve: (s) => resolver.resolveServer(s),
    insecure: true,
    timeoutMs: 5_000,
  });
  ts.keyStore = createRemoteKeyStore({
    clock: opts.clock,
    fetchKeys: keyFetcherVia(ts.client),
  });
  app.use((req, _res, next) => {
    if (req.path === KEY_SERVER_PATH) ts.keyFetches += 1;
    next();
  });
  app.use(keyServerRouter({ serverName: name, keys: () => ts.keys, clock: opts.clock }));
  app.use(
    federationAuthMiddleware({
      serverName: name,
      trust: { mode: 'allowlist', allows: (origin) => ts.trust.allows(origin) },
      keys: ts.keyStore,
      ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
      onReject: (r) => ts.rejections.push({ status: r.status, errcode: r.errcode, reason: r.reason }),
    }),
  );
  app.all(ECHO_PATH, (req, res) => {
    const entry = { origin: res.locals.origin as string, method: req.method, url: req.originalUrl, body: req.body, host: req.headers.host };
    ts.handled.push(entry);
    res.json(entry);
  });
  return ts;
}

/** Lets each server accept requests from the others. */
export function trustEachOther(...servers: TestServer[]): void {
  for (const s of servers) {
    s.trust = createTrustPolicy({ mode: 'allowlist', allow: servers.filter((o) => o !== s).map((o) => o.name) });
  }
}
