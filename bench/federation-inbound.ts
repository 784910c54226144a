// Inbound federation benchmark (not a test): PDUs/s a homeserver verifies, authorizes and
// persists from peers' transactions (PUT /_nexus/federation/v1/send/{txnId}, up to 50 PDUs
// each). The homeserver under test (the receiver) runs in this process and trusts one peer;
// the peer is a fake (bench/lib/fed-peer.ts) in a child process, with its own key, that
// joins `--chains` users to the receiver's guild through make_join/send_join and then sends
// pre-built, pre-signed messages: one chain of messages per user (each message on the one
// before, so the guild's DAG has `--chains` branches), each chain cut into transactions and
// sent in order over its own keep-alive connection, all chains at once. Everything is built
// and signed before the clock starts; the clock stops when the last transaction's answer
// (sent after its events are committed) arrives. A warm-up of `--warmup` events per chain
// goes first, unmeasured.
//
//   npx tsx bench/federation-inbound.ts --events 20000 --chains 4 --batch 50
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/federation-inbound.ts
//
// Prints one JSON object.
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startHomeserver } from '../src/homeserver.js';
import { silentLogger } from '../src/log.js';
import { EventType } from '../src/events/event-types.js';
import { parseFlags } from './lib/args.js';
import { benchBackend } from './lib/backend.js';
import { startCpuProfile } from './lib/cpu-profile.js';
import { forkRole, parentInbox, runAsChild } from './lib/fed-child.js';
import { freePort } from './lib/federation-cluster.js';
import { joinThroughInvite, messageChain, signedTransaction, startFakePeer, type SignedTransaction } from './lib/fed-peer.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { postgresBackendsCpu } from './lib/process-cpu.js';
import { traceSql } from './lib/sql-trace.js';
import { nowMs, round2, Samples } from './lib/stats.js';

const DEFAULTS = {
  events: 20000, // measured PDUs, over all chains
  chains: 4, // peer users, each sending one chain over its own connection, all at once
  batch: 50, // PDUs per transaction (the protocol's maximum is 50)
  warmup: 500, // unmeasured PDUs per chain, sent first
  profile: '', // .cpuprofile of the receiver over the measured window
  'trace-sql': false, // count and time every SQL statement of the receiver
};
type Flags = typeof DEFAULTS;
const PROFILE_FRAMES = ['receive', 'checkPdu', 'inspectPdu', 'verifyCanonical', 'planRemoteAppend', 'authorizeEvent', 'appendToRoom', 'projectPlanned', 'insertEvents', 'commitRemote', 'federationAuthMiddleware', 'jsonParser', 'query', 'execProtocolRawSync'];

/** A client API call on a fresh connection (setup can outlast the server's keep-alive timeout). */
async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const res = await request(`${base}/api/v10${path}`, {
    method: method as 'GET',
    reset: true,
    headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

async function main(flags: Flags): Promise<void> {
  if (flags.batch < 1 || flags.batch > 50) throw new Error('--batch must be 1..50');
  const backend = await benchBackend();
  const peer = forkRole(fileURLToPath(import.meta.url), 'peer');
  let hs: Awaited<ReturnType<typeof startHomeserver>> | undefined;
  try {
    const { serverName: peerName } = await peer.next<{ serverName: string }>('listening');
    const port = await freePort();
    const serverName = `127.0.0.1:${port}`;
    const config = {
      ...loadConfig({}, { port: String(port), 'data-dir': backend.dataDir, 'server-name': serverName, 'log-level': 'silent' }),
      rateLimits: false,
      federation: { mode: 'allowlist' as const, allow: [peerName], insecure: true },
    };
    hs = await startHomeserver(config, { database: backend.database, log: silentLogger(), processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 } });

    // The guild the peer's users join: made through the real API.
    const owner = (await api(hs.url, 'POST', '/auth/register', undefined, { username: 'owner', password: 'bench password 1234' })).token;
    const guild = await api(hs.url, 'POST', '/guilds', owner, { name: 'inbound bench' });
    const channel = (await api(hs.url, 'GET', `/guilds/${guild.id}/channels`, owner)).find((c: { type: number }) => c.type === 0);
    const invite = await api(hs.url, 'POST', `/channels/${channel.id}/invites`, owner, { max_uses: 0 });

    const perChain = Math.ceil(flags.events / flags.chains);
    peer.send({ type: 'setup', destination: serverName, baseUrl: hs.url, code: invite.code, chains: flags.chains, perChain, warmup: flags.warmup, batch: flags.batch });
    const ready = await peer.next<{ transactions: number; events: number; buildSeconds: number }>('ready');
    peer.send({ type: 'send', phase: 'warmup' });
    const warm = await peer.next<SendReport>('sent');

    const sqlTrace = flags['trace-sql'] ? traceSql() : undefined;
    const stopProfile = flags.profile ? await startCpuProfile() : undefined;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpuStart = process.cpuUsage();
    const machineCpu = machineCpuWindow();
    const pgCpu = backend.database.databaseUrl ? await postgresBackendsCpu(backend.database.databaseUrl) : undefined;
    peer.send({ type: 'send', phase: 'measured' });
    const sent = await peer.next<SendReport>('sent');
    const cpu = process.cpuUsage(cpuStart);
    const machineCores = machineCpu();
    const postgresCpuMs = pgCpu ? await pgCpu() : null;
    loop.disable();
    const profile = await stopProfile?.(flags.profile, PROFILE_FRAMES);

    // What the receiver holds: the peer's messages in the log, and shown in the channel.
    const db = hs.database.db;
    const logged = await db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).where('origin', '=', peerName).where('type', '=', EventType.Message).executeTakeFirstOrThrow();
    const shown = await db.selectFrom('messages').select((eb) => eb.fn.countAll<string>().as('n')).where('room_id', '=', guild.nexus_id).executeTakeFirstOrThrow();

    const seconds = (sent.lastResponseAt - sent.firstSendAt) / 1000;
    const serverCpuMs = (cpu.user + cpu.system) / 1000;
    const perEvent = (ms: number | null) => (ms === null ? null : Math.round((ms / Math.max(1, sent.accepted)) * 1000) / 1000);
    console.log(JSON.stringify({
      bench: 'federation-inbound',
      backend: backend.name,
      events: sent.accepted,
      eventsPerSecond: Math.round(sent.accepted / seconds),
      seconds: round2(seconds),
      transactions: sent.transactions,
      target: { events: perChain * flags.chains, chains: flags.chains, batch: flags.batch, warmupPerChain: flags.warmup },
      refused: sent.refused,
      firstRefusal: sent.firstRefusal,
      httpErrors: sent.httpErrors,
      firstHttpError: sent.firstHttpError,
      txnLatencyMs: sent.txnLatencyMs,
      warmup: { events: warm.accepted, eventsPerSecond: Math.round(warm.accepted / ((warm.lastResponseAt - warm.firstSendAt) / 1000)) },
      // Peer messages the receiver holds afterwards (warm-up + measured), and shows in its channel.
      persisted: { logged: Number(logged.n), shownInChannel: Number(shown.n), expected: warm.accepted + sent.accepted },
      buildSeconds: ready.buildSeconds,
      cpuMsPerEvent: {
        receiver: perEvent(serverCpuMs),
        postgres: perEvent(postgresCpuMs),
        peer: perEvent(sent.cpuMs),
        total: perEvent(serverCpuMs + (postgresCpuMs ?? 0) + sent.cpuMs),
      },
      receiverCpuCores: round2(serverCpuMs / 1000 / seconds),
      receiverEventLoopDelayMs: { p50: round2(loop.percentile(50) / 1e6), p99: round2(loop.percentile(99) / 1e6), max: round2(loop.max / 1e6) },
      machineBusyCores: machineCores,
      ...(profile ? { receiverProfile: profile } : {}),
      ...(sqlTrace ? { sql: { ...sqlTrace.totals(), perEvent: round2(sqlTrace.totals().statements / Math.max(1, sent.accepted)), top: sqlTrace.report(sent.accepted, 15) } } : {}),
      machine: machineInfo(),
    }));
  } finally {
    peer.kill();
    await hs?.close();
    await backend.cleanup();
  }
}

interface SendReport {
  transactions: number;
  accepted: number;
  refused: number;
  firstRefusal?: string;
  httpErrors: number;
  firstHttpError?: string;
  firstSendAt: number;
  lastResponseAt: number;
  txnLatencyMs: ReturnType<Samples['summary']>;
  cpuMs: number;
}

/** The peer: joins, builds and signs everything, then sends each phase on command. */
async function runPeer(): Promise<void> {
  const inbox = parentInbox();
  const peer = await startFakePeer();
  try {
    process.send!({ type: 'listening', serverName: peer.serverName });
    const setup = await inbox.next<{ destination: string; baseUrl: string; code: string; chains: number; perChain: number; warmup: number; batch: number }>('setup');
    const t0 = nowMs();
    // Joins one after another, so the guild's DAG is a line up to the last join; every
    // chain then starts from that join (the branches merge nowhere: N forward extremities).
    let guild;
    const senders: string[] = [];
    for (let c = 0; c < setup.chains; c++) {
      guild = await joinThroughInvite(peer, setup.destination, setup.code, `sender${c}`, guild);
      senders.push(`@sender${c}:${peer.serverName}`);
    }
    const phases: Record<'warmup' | 'measured', SignedTransaction[][]> = { warmup: [], measured: [] };
    for (const [c, sender] of senders.entries()) {
      const chain = messageChain(peer, guild!, sender, guild!.tip, setup.warmup + setup.perChain, `c${c}`);
      const cut = (events: typeof chain, label: string) => {
        const txns: SignedTransaction[] = [];
        for (let i = 0; i < events.length; i += setup.batch) txns.push(signedTransaction(peer, setup.destination, `${label}-c${c}-${i}`, events.slice(i, i + setup.batch)));
        return txns;
      };
      phases.warmup.push(cut(chain.slice(0, setup.warmup), 'warm'));
      phases.measured.push(cut(chain.slice(setup.warmup), 'bench'));
    }
    const transactions = phases.measured.reduce((n, c) => n + c.length, 0);
    process.send!({ type: 'ready', transactions, events: setup.perChain * setup.chains, buildSeconds: round2((nowMs() - t0) / 1000) });

    const pool = new Pool(setup.baseUrl, { connections: setup.chains, pipelining: 1, keepAliveTimeout: 60_000 });
    for (;;) {
      const cmd = await inbox.next<{ phase: 'warmup' | 'measured' }>('send');
      process.send!({ type: 'sent', ...(await sendAll(pool, phases[cmd.phase])) });
      if (cmd.phase === 'measured') break;
    }
    await pool.close();
  } finally {
    await peer.close();
  }
}

/** Sends every chain's transactions in order, all chains at once; counts what was accepted. */
async function sendAll(pool: Pool, chains: SignedTransaction[][]): Promise<SendReport> {
  const latency = new Samples();
  const cpuStart = process.cpuUsage();
  const report = { transactions: 0, accepted: 0, refused: 0, httpErrors: 0 } as SendReport;
  const firstSendAt = nowMs();
  let lastResponseAt = firstSendAt;
  await Promise.all(chains.map(async (txns) => {
    for (const txn of txns) {
      const t = nowMs();
      const res = await pool.request({ method: 'PUT', path: txn.path, body: txn.body, headers: { 'content-type': 'application/json', authorization: txn.authorization } });
      const text = await res.body.text();
      lastResponseAt = nowMs();
      latency.push(lastResponseAt - t);
      report.transactions++;
      if (res.statusCode !== 200) {
        report.httpErrors++;
        report.firstHttpError ??= `${res.statusCode} ${text.slice(0, 300)}`;
        continue;
      }
      const results = (JSON.parse(text) as { pdus: Record<string, { error?: string }> }).pdus;
      for (const id of txn.eventIds) {
        const r = results[id];
        if (r && r.error === undefined) report.accepted++;
        else {
          report.refused++;
          report.firstRefusal ??= `${id}: ${r?.error ?? 'no result'}`;
        }
      }
    }
  }));
  const cpu = process.cpuUsage(cpuStart);
  return { ...report, firstSendAt, lastResponseAt, txnLatencyMs: latency.summary(), cpuMs: (cpu.user + cpu.system) / 1000 };
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0) await runAsChild(runPeer);
else await main(parseFlags(process.argv.slice(2), DEFAULTS));
