// Federation replication latency benchmark (not a test): POST a message on server A →
// MESSAGE_CREATE on a gateway of server B, at `--rate` messages/s.
//
// Four processes besides this one (on a 2-core box they share the cores, so the result is
// an upper bound of what loopback federation costs, not of the network):
//   A, B      homeservers, each in its own child (bench/lib/federation-node.ts) with its own
//             database (PGlite dirs, or two fresh Postgres databases with DATABASE_URL),
//             federating by allow list over plain HTTP on 127.0.0.1;
//   clients   `--clients` gateway sessions on B (members of B, joined to A's guild through
//             `CODE@A`), plus one session on A: the local path, as the baseline;
//   senders   POSTs to A's channel as `--senders` members of A, open loop at `--rate` for
//             `--seconds` (`--concurrency` requests in flight), over keep-alive HTTP.
// Each message's content is `bench <seq> <sentAtMs>`; every client records arrival − send,
// so the latency is send-of-POST on A → arrival at a gateway client of B.
//
//   npx tsx bench/federation-latency.ts --rate 500 --seconds 10
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/federation-latency.ts
//
// Prints one JSON object. Goal in the issue: p99 ≤ 100 ms at 500 messages/s on loopback.
import { fileURLToPath } from 'node:url';
import { Intent } from '../src/gateway/intents.js';
import { parseFlags } from './lib/args.js';
import { benchBackend, type BenchBackend } from './lib/backend.js';
import { forkIpcChild, LogCounter, pairSpecs, relativeStats, startFedNode, type FedNode, type IpcChild } from './lib/federation-cluster.js';
import { setupFederatedGuild } from './lib/federation-setup.js';
import { runGatewayLoad, type GatewayLoadOptions, type GatewayLoadReport } from './lib/gateway-load.js';
import { sendMessages, type SendReport } from './lib/http-senders.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { postgresBackendsCpu, processCpuMs } from './lib/process-cpu.js';
import { nowMs, round2 } from './lib/stats.js';

const DEFAULTS = {
  rate: 500, // msgs/s posted on A (open loop)
  seconds: 10, // sending window
  clients: 5, // gateway sessions on B (each a member of B joined through CODE@A)
  senders: 4, // distinct members of A who post
  concurrency: 16, // POSTs in flight
  drain: 30, // max seconds to wait for deliveries after the last POST
  'warm-up': 50, // messages sent (and waited for) before the measured window
  'log-level': 'warn', // the servers' pino level (lines are counted by message in the output)
  'trace-sql': false, // count and time every SQL statement in A and B over the window (per message)
  profile: '', // CPU profiles of A and B over the send window: <profile>-A/-B.cpuprofile (+ summaries)
};
type Flags = typeof DEFAULTS;
const INTENTS = Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT;
const PROFILE_FRAMES = ['runDestination', 'feed', 'feedPage', 'receive', 'checkPdu', 'verifyCanonical', 'submitRemote', 'appendToRoom', 'commitBatch', 'deliver', 'publish', 'query', 'execProtocolRawSync'];

async function main(flags: Flags): Promise<void> {
  const backends: BenchBackend[] = [];
  const nodes: FedNode[] = [];
  const children: IpcChild[] = [];
  const logs = new LogCounter();
  try {
    backends.push(await benchBackend(), await benchBackend());
    const [specA, specB] = await pairSpecs([backends[0], backends[1]], flags['log-level']);
    const a = await startFedNode(specA, logs, 'A');
    nodes.push(a);
    const b = await startFedNode(specB, logs, 'B');
    nodes.push(b);
    const g = await setupFederatedGuild(a.url, specA.serverName, b.url, { aMembers: Math.max(0, flags.senders - 1), bMembers: flags.clients });

    const here = fileURLToPath(import.meta.url);
    const clients = forkIpcChild(here, ['--role', 'clients']);
    const senders = forkIpcChild(here, ['--role', 'senders']);
    children.push(clients, senders);
    const onB: GatewayLoadOptions = { url: b.gatewayUrl, tokens: g.b.tokens, intents: INTENTS, guildId: g.b.guildId };
    const onA: GatewayLoadOptions = { url: a.gatewayUrl, tokens: [g.owner.token], intents: INTENTS, guildId: g.a.guildId };
    const sendOpts = { baseUrl: a.url, channelId: g.a.channelId, tokens: g.a.tokens, concurrency: flags.concurrency };

    // Warm-up: keys fetched, connections open, JIT warm; its messages are not counted.
    if (flags['warm-up'] > 0) {
      clients.proc.send({ type: 'start', onB, onA });
      await clients.next('ready');
      senders.proc.send({ type: 'start', ...sendOpts, rate: 100, seconds: flags['warm-up'] / 100 });
      const warm = (await senders.next('sent')).report as SendReport;
      clients.proc.send({ type: 'report', expected: warm.accepted, deadline: nowMs() + 30_000 });
      const w = await clients.next('report');
      if (w.onB.completeClients < flags.clients) throw new Error(`warm-up: only ${w.onB.completeClients}/${flags.clients} clients on B got every message`);
    }
    clients.proc.send({ type: 'start', onB, onA });
    await clients.next('ready');

    // The measured window.
    await Promise.all([a.request({ op: 'fedStats', reset: true }), b.request({ op: 'fedStats', reset: true })]);
    if (flags['trace-sql']) await Promise.all([a.request({ op: 'sqlTrace', start: true }), b.request({ op: 'sqlTrace', start: true })]);
    if (flags.profile) await Promise.all([a.request({ op: 'profileStart' }), b.request({ op: 'profileStart' })]);
    const windowStart = Date.now();
    const machineCpu = machineCpuWindow();
    const cpu0 = { a: processCpuMs(a.pid) ?? 0, b: processCpuMs(b.pid) ?? 0 };
    const pg = await Promise.all(backends.map((be) => (be.database.databaseUrl ? postgresBackendsCpu(be.database.databaseUrl) : undefined)));
    senders.proc.send({ type: 'start', ...sendOpts, rate: flags.rate, seconds: flags.seconds });
    const sent = (await senders.next('sent')).report as SendReport;
    clients.proc.send({ type: 'report', expected: sent.accepted, deadline: nowMs() + flags.drain * 1000 });
    const got = (await clients.next('report')) as { onB: GatewayLoadReport; onA: GatewayLoadReport };
    const cpuMs = {
      a: (processCpuMs(a.pid) ?? 0) - cpu0.a,
      b: (processCpuMs(b.pid) ?? 0) - cpu0.b,
      postgresA: pg[0] ? await pg[0]() : null,
      postgresB: pg[1] ? await pg[1]() : null,
      clients: got.onB.cpuMs + got.onA.cpuMs,
      senders: sent.cpuMs,
    };
    const busyCores = machineCpu();
    const profiles = flags.profile
      ? { a: await a.request({ op: 'profileStop', file: `${flags.profile}-A.cpuprofile`, frames: PROFILE_FRAMES }), b: await b.request({ op: 'profileStop', file: `${flags.profile}-B.cpuprofile`, frames: PROFILE_FRAMES }) }
      : undefined;
    const sql = flags['trace-sql']
      ? { a: await a.request({ op: 'sqlTrace', per: sent.accepted, top: 15 }), b: await b.request({ op: 'sqlTrace', per: sent.accepted, top: 15 }) }
      : undefined;
    const requests = { a: relativeStats(await a.request({ op: 'fedStats' }), windowStart), b: relativeStats(await b.request({ op: 'fedStats' }), windowStart) };
    const queue = (await a.request({ op: 'status' })) as Array<{ destination: string; pending: number; failures: number }>;

    const sendSeconds = (sent.lastResponseAt - sent.firstSendAt) / 1000;
    const perMessage = (ms: number | null) => (ms === null ? null : Math.round((ms / Math.max(1, sent.accepted)) * 1000) / 1000);
    const txns = requests.a.send;
    console.log(JSON.stringify({
      bench: 'federation-latency',
      backend: backends[0].name,
      messages: sent.accepted,
      seconds: round2(sendSeconds),
      messagesPerSecond: Math.round(sent.accepted / sendSeconds),
      // POST on A → MESSAGE_CREATE at a gateway client of B (every client, every message).
      latencyMs: got.onB.latencyMs,
      // The same POSTs → MESSAGE_CREATE on A's own gateway: the local path, for comparison.
      localLatencyMs: got.onA.latencyMs,
      postLatencyMs: sent.postLatencyMs,
      target: { rate: flags.rate, seconds: flags.seconds, concurrency: flags.concurrency, senders: g.a.tokens.length, clientsOnB: flags.clients },
      attempted: sent.attempted,
      httpErrors: sent.errors,
      firstHttpError: sent.firstError,
      scheduleLagMs: sent.scheduleLagMs,
      deliveries: {
        expectedOnB: sent.accepted * flags.clients, deliveredOnB: got.onB.delivered, duplicatesOnB: got.onB.duplicates, completeClientsOnB: got.onB.completeClients,
        deliveredOnA: got.onA.delivered, closedSockets: got.onB.closed + got.onA.closed,
      },
      deliverySeconds: round2((got.onB.lastArrivalAt - sent.firstSendAt) / 1000),
      // A's PUT send/{txn} to B over the window: how the queue batched (PDUs per transaction)
      // and how long B took to answer each.
      transactions: txns ? { count: txns.calls, failures: txns.failures, pdusPerTxn: round2(txns.sentPdus / Math.max(1, txns.calls)), meanMs: round2(txns.totalMs / Math.max(1, txns.calls)), maxMs: txns.maxMs } : null,
      otherRequests: { a: Object.fromEntries(Object.entries(requests.a).filter(([k]) => k !== 'send')), b: requests.b },
      aQueueAfter: queue,
      cpuMsPerMessage: {
        a: perMessage(cpuMs.a), b: perMessage(cpuMs.b), postgresA: perMessage(cpuMs.postgresA), postgresB: perMessage(cpuMs.postgresB),
        gatewayClients: perMessage(cpuMs.clients), httpSenders: perMessage(cpuMs.senders),
        total: perMessage(cpuMs.a + cpuMs.b + (cpuMs.postgresA ?? 0) + (cpuMs.postgresB ?? 0) + cpuMs.clients + cpuMs.senders),
      },
      machineBusyCores: busyCores,
      ...(profiles ? { profiles } : {}),
      ...(sql ? { sql } : {}),
      setup: { remoteJoinMs: g.remoteJoinMs, aSpawnToListeningMs: a.spawnToReadyMs, bSpawnToListeningMs: b.spawnToReadyMs },
      // [count, first, last]: seconds after the measured window began (negative: setup)
      logLines: logs.summary(windowStart),
      machine: machineInfo(),
    }));
  } catch (err) {
    // What the servers logged says more than the stack of a failed setup request.
    console.error('server log lines (count, first, last: seconds from now):', JSON.stringify(logs.summary(Date.now()), null, 1), [...logs.firstProblems.values()].join('\n'));
    throw err;
  } finally {
    for (const c of children) c.proc.kill();
    for (const n of nodes) await n.stop().catch(() => undefined);
    for (const be of backends) await be.cleanup().catch(() => undefined);
  }
}

/** A child process: gateway clients (on B, and one on A) or the HTTP senders. */
async function runChild(role: string): Promise<void> {
  const next = () => new Promise<any>((resolve) => process.once('message', resolve));
  try {
    if (role === 'clients') {
      // A fresh set of sessions per round (warm-up, then the measured window): the senders
      // number messages from 0 each round, and a client counts a seq seen twice as a duplicate.
      for (;;) {
        const start = await next();
        const onB = await runGatewayLoad(start.onB);
        const onA = await runGatewayLoad(start.onA);
        process.send!({ type: 'ready' });
        const ask = await next();
        const [rb, ra] = [await onB.report(ask.expected, ask.deadline), await onA.report(ask.expected, ask.deadline)];
        onB.close();
        onA.close();
        process.send!({ type: 'report', onB: rb, onA: ra });
      }
    } else {
      for (;;) process.send!({ type: 'sent', report: await sendMessages(await next()) });
    }
  } catch (err) {
    process.send!({ type: 'error', error: String((err as Error)?.stack ?? err) });
  }
  process.disconnect();
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0) await runChild(process.argv[roleAt + 1]);
else await main(parseFlags(process.argv.slice(2), DEFAULTS));
