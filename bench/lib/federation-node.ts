// One federating homeserver in its own process, for the federation benches (run with
// `node --import tsx`, forked by federation-cluster.ts). Its own process so that the load
// generator, the gateway clients and the other homeserver do not share its event loop
// (and, for the catch-up bench, so that "down" can be a real SIGKILL).
//
// IPC: the parent sends one {type:'start', ...NodeStart}; we answer {type:'started'}. Then
// requests {id, op, ...} get {id, ok, result | error}:
//   seed    write `count` messages `${prefix} ${i}` through the guild service (the same
//           writer path as the REST API, group-committed), `concurrency` in flight
//   count   how many messages of the room have a body starting with `prefix` (projection
//           rows: what the REST API reads), and how many distinct bodies
//   status  the outbound federation queue (sender.status())
//   profileStart / profileStop   a V8 CPU profile of this process over a window, written to
//           `file` and summarized (bench/lib/cpu-profile.ts)
//   fedStats  outbound federation requests of this server so far, by kind (send,
//           get_missing_events, state, …): count, total ms, first start and last end (epoch
//           ms), events returned; `reset` starts a new window — timed by wrapping the federation client's methods here,
//           in the bench's child, without touching src/
//   sqlTrace  {start: true} starts counting every SQL statement of this process (sql-trace.ts);
//           {per, top} reports the statements by total time so far, counts divided by `per`
//   stop    a clean shutdown (hs.close()), then the process exits
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { listChannels } from '../../src/events/state-map.js';
import { startHomeserver } from '../../src/homeserver.js';
import { createLogger } from '../../src/log.js';
import { pino } from 'pino';
import type { DatabaseOptions } from '../../src/store/database.js';
import { startCpuProfile } from './cpu-profile.js';
import { traceSql, type SqlTrace } from './sql-trace.js';

export interface NodeStart {
  serverName: string;
  port: number;
  dataDir: string;
  database: DatabaseOptions;
  /** The peers this server federates with (allow list, plain HTTP on loopback). */
  allow: string[];
  /** pino level for the server's own logs (to stderr). */
  logLevel: string;
}

export type NodeRequest =
  | { op: 'seed'; roomId: string; sender: string; count: number; prefix: string; concurrency: number }
  | { op: 'count'; roomId: string; prefix: string }
  | { op: 'status' }
  | { op: 'fedStats'; reset?: boolean }
  | { op: 'sqlTrace'; start?: boolean; per?: number; top?: number }
  | { op: 'profileStart' }
  | { op: 'profileStop'; file: string; frames: string[] }
  | { op: 'stop' };

const send = (m: unknown): void => void process.send!(m);

async function main(): Promise<void> {
  const start = await new Promise<{ type: 'start' } & NodeStart>((resolve) => process.once('message', resolve as never));
  const t0 = performance.now();
  const config = {
    ...loadConfig({}, { port: String(start.port), 'data-dir': start.dataDir, 'server-name': start.serverName, 'log-level': start.logLevel }),
    rateLimits: false,
    federation: { mode: 'allowlist' as const, allow: start.allow, insecure: true },
  };
  // JSON lines to stderr, synchronously (a SIGKILL must not lose the last ones): the parent
  // reads them (federation-cluster.ts counts them by message); stdout is the bench's JSON.
  const log = createLogger({ level: start.logLevel, destination: pino.destination({ dest: 2, sync: true }) });
  const hs = await startHomeserver(config, { database: start.database, log, processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 } });
  send({ type: 'started', url: hs.url, gatewayUrl: hs.gatewayUrl, pid: process.pid, startMs: Math.round(performance.now() - t0) });

  const fedStats = instrumentFederationClient(hs.federation?.client);
  let sqlTrace: SqlTrace | undefined;
  let stopProfile: Awaited<ReturnType<typeof startCpuProfile>> | undefined;
  const handlers = {
    async seed(r: Extract<NodeRequest, { op: 'seed' }>) {
      const channel = listChannels(await hs.writer.stateOf(r.roomId))[0].key;
      const t = performance.now();
      for (let n = 0; n < r.count; n += r.concurrency) {
        await Promise.all(Array.from({ length: Math.min(r.concurrency, r.count - n) }, (_, i) =>
          hs.guilds.sendMessage(r.roomId, r.sender, { channel, body: `${r.prefix} ${n + i}` })));
      }
      return { written: r.count, ms: Math.round(performance.now() - t) };
    },
    async count(r: Extract<NodeRequest, { op: 'count' }>) {
      const row = await hs.database.db
        .selectFrom('messages')
        .select([sql<string>`count(*)`.as('n'), sql<string>`count(DISTINCT body)`.as('distinct')])
        .where('room_id', '=', r.roomId)
        .where('body', 'like', `${r.prefix} %`)
        .executeTakeFirstOrThrow();
      return { count: Number(row.n), distinct: Number(row.distinct) };
    },
    status: () => hs.sender?.status() ?? [],
    async fedStats(r: Extract<NodeRequest, { op: 'fedStats' }>) {
      const out = Object.fromEntries(fedStats);
      if (r.reset) fedStats.clear();
      return out;
    },
    async sqlTrace(r: Extract<NodeRequest, { op: 'sqlTrace' }>) {
      if (r.start) {
        sqlTrace ??= traceSql();
        sqlTrace.reset();
        return {};
      }
      if (!sqlTrace) throw new Error('no SQL trace running');
      return { ...sqlTrace.totals(), top: sqlTrace.report(r.per ?? 1, r.top ?? 15) };
    },
    async profileStart() {
      stopProfile = await startCpuProfile();
      return {};
    },
    async profileStop(r: Extract<NodeRequest, { op: 'profileStop' }>) {
      if (!stopProfile) throw new Error('no profile running');
      const summary = await stopProfile(r.file, r.frames);
      stopProfile = undefined;
      return summary;
    },
    async stop() {
      await hs.close();
      return { stopped: true };
    },
  };

  process.on('message', async (m: { id: number } & NodeRequest) => {
    try {
      const result = await (handlers[m.op] as (r: NodeRequest) => Promise<unknown>)(m);
      send({ id: m.id, ok: true, result });
      if (m.op === 'stop') process.disconnect();
    } catch (err) {
      send({ id: m.id, ok: false, error: String((err as Error)?.stack ?? err) });
    }
  });
}

export interface RequestStats {
  calls: number;
  failures: number;
  totalMs: number;
  maxMs: number;
  firstStart: number;
  lastEnd: number;
  /** `events` or `pdus` items in the answers. */
  events: number;
  /** PDUs in the request bodies (send transactions). */
  sentPdus: number;
}

/** Wraps get/post/request of the (plain-object) federation client to time every request by
 *  the federation endpoint it calls. */
function instrumentFederationClient(client: Record<string, any> | undefined): Map<string, RequestStats> {
  const stats = new Map<string, RequestStats>();
  if (!client) return stats;
  const kindOf = (path: string) => /\/_nexus\/(?:federation\/v1|key\/v1)\/([a-z_A-Z]+)/.exec(path)?.[1] ?? path;
  const wrap = (name: string, pathArg: number) => {
    const inner = client[name].bind(client);
    client[name] = async (...args: unknown[]) => {
      const kind = kindOf(String(args[pathArg]));
      const start = Date.now();
      const t = performance.now();
      let s = stats.get(kind);
      if (!s) stats.set(kind, (s = { calls: 0, failures: 0, totalMs: 0, maxMs: 0, firstStart: start, lastEnd: 0, events: 0, sentPdus: 0 }));
      s.calls++;
      const pdus = (args[3] as { body?: { pdus?: unknown[] } } | undefined)?.body?.pdus;
      if (Array.isArray(pdus)) s.sentPdus += pdus.length;
      try {
        const out = await inner(...args);
        const items = (out as { events?: unknown[]; pdus?: unknown[] } | undefined);
        s.events += (Array.isArray(items?.events) ? items.events.length : 0) + (Array.isArray(items?.pdus) ? items.pdus.length : 0);
        return out;
      } catch (err) {
        s.failures++;
        throw err;
      } finally {
        const ms = performance.now() - t;
        s.totalMs += ms;
        s.maxMs = Math.max(s.maxMs, ms);
        s.lastEnd = Date.now();
      }
    };
  };
  wrap('get', 1);
  wrap('post', 1);
  wrap('request', 2);
  return stats;
}

await main();
