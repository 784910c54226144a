// A homeserver's federation read endpoints on a real database, behind the real request-auth
// middleware, asked by other servers with the real federation client. `home` serves;
// `peer` gets a member through the tests; `stranger` is trusted but has none.
//
// The state functions the router takes are implemented here by folding each room's log in
// position order: right for the linear histories a single room writer produces (a
// forked DAG would need the state-group store, which the lead wires in production).
import type { KyselyPlugin } from 'kysely';
import { EventType, type StoredEvent } from '../../../src/events/event-types.js';
import { applyInPlace } from '../../../src/events/state-map.js';
import { FederationRequestError } from '../../../src/federation/errors.js';
import { readEndpointsRouter } from '../../../src/federation/read-endpoints/routes.js';
import { FEDERATION_PATH_PREFIX } from '../../../src/federation/request-auth-middleware.js';
import { createGuildService, type GuildService } from '../../../src/guilds/guild-service.js';
import { createRoomWriter } from '../../../src/guilds/room-writer.js';
import { openDatabase, type DatabaseOptions, type Db, type OpenedDatabase } from '../../../src/store/database.js';
import { getLoggedEvent, scanLog } from '../../../src/store/event-log.js';
import { FakeClock, startTestServer, trustEachOther, type TestServer } from '../federation-harness.js';

export interface Answer<T = any> {
  status: number;
  body?: T;
  errcode?: string;
}

export interface ReadFixture {
  clock: FakeClock;
  home: TestServer;
  peer: TestServer;
  stranger: TestServer;
  opened: OpenedDatabase;
  /** Queries the router has run (the state functions above are not counted). */
  queries: { count: number };
  /** Commands as `home`'s users (alice). */
  homeGuilds: GuildService;
  /** Commands as `peer`'s users (bob): events built and signed by peer, logged at home as if received. */
  peerGuilds: GuildService;
  alice: string;
  bob: string;
  /** alice invites `user` to `roomId`. */
  invite(roomId: string, user: string): Promise<StoredEvent>;
  /** Every event of a room, in log order. */
  logOf(roomId: string): Promise<StoredEvent[]>;
  get<T = any>(from: TestServer, path: string): Promise<Answer<T>>;
  post<T = any>(from: TestServer, path: string, body: unknown): Promise<Answer<T>>;
  close(): Promise<void>;
}

export const P = FEDERATION_PATH_PREFIX;
export const enc = encodeURIComponent;

/** The state after `until` (or after the whole log) of one room, folding its log. */
async function foldRoomLog(db: Db, roomId: string, until?: string): Promise<Map<string, StoredEvent> | undefined> {
  const state = new Map<string, StoredEvent>();
  let any = false;
  for await (const page of scanLog(db, { roomId })) {
    for (const ev of page) {
      any = true;
      applyInPlace(state, ev);
      if (ev.event_id === until) return state;
    }
  }
  return until === undefined && any ? state : undefined;
}

export async function startReadFixture(options: () => Promise<DatabaseOptions>): Promise<ReadFixture> {
  const clock = new FakeClock();
  const [home, peer, stranger] = await Promise.all([startTestServer({ clock }), startTestServer({ clock }), startTestServer({ clock })]);
  trustEachOther(home, peer, stranger);
  const opened = await openDatabase(await options());
  const queries = { count: 0 };
  const counting: KyselyPlugin = {
    transformQuery(args) {
      queries.count++;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
  const db = opened.db;
  home.app.use(
    readEndpointsRouter({
      db: db.withPlugin(counting),
      serverName: home.name,
      clock,
      stateAfter: async (eventId) => {
        const ev = await getLoggedEvent(db, eventId);
        return ev ? foldRoomLog(db, ev.pdu.room_id, eventId) : undefined;
      },
      currentState: (roomId) => foldRoomLog(db, roomId),
    }),
  );
  const writer = (server: TestServer) => createRoomWriter({ db, clock, serverName: server.name, signingKey: () => server.keys.current });
  const homeWriter = writer(home);
  const alice = `@alice:${home.name}`;

  async function call<T>(p: Promise<T>): Promise<Answer<T>> {
    try {
      return { status: 200, body: await p };
    } catch (err) {
      if (err instanceof FederationRequestError && err.status !== undefined) return { status: err.status, errcode: err.errcode };
      throw err;
    }
  }

  return {
    clock,
    home,
    peer,
    stranger,
    opened,
    queries,
    homeGuilds: createGuildService({ writer: homeWriter, serverName: home.name }),
    peerGuilds: createGuildService({ writer: writer(peer), serverName: peer.name }),
    alice,
    bob: `@bob:${peer.name}`,
    async invite(roomId, user) {
      const [ev] = await homeWriter.submit(roomId, () => ({ type: EventType.Member, state_key: user, sender: alice, content: { membership: 'invite' } }));
      return ev;
    },
    async logOf(roomId) {
      const out: StoredEvent[] = [];
      for await (const page of scanLog(db, { roomId })) out.push(...page.map((e) => ({ event_id: e.event_id, pdu: e.pdu })));
      return out;
    },
    get: (from, path) => call(from.client.get(home.name, path)),
    post: (from, path, body) => call(from.client.post(home.name, path, body)),
    async close() {
      await Promise.all([home.close(), peer.close(), stranger.close()]);
      await opened.close();
    },
  };
}
