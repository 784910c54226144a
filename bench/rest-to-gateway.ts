// REST → gateway benchmark (not a test): the whole path of one message. A homeserver runs
// in this process (rate limits off); `--clients` members, each registered and joined via an
// invite, hold gateway sessions in a child process; a second child POSTs messages to one
// channel over keep-alive HTTP from `--concurrency` workers, at `--rate` msgs/s (0: as fast
// as the server answers) for `--seconds`. Every client measures the time from each POST's
// send to the MESSAGE_CREATE's arrival. Children keep the load generation off the server's
// core (as far as two cores allow: the machine is shared by all three processes).
//
//   npx tsx bench/rest-to-gateway.ts --clients 100 --seconds 10 --rate 3000 --concurrency 32
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/rest-to-gateway.ts
//
// Prints one JSON object.
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { Intent } from '../src/gateway/intents.js';
import { startHomeserver } from '../src/homeserver.js';
import { silentLogger } from '../src/log.js';
import { parseFlags } from './lib/args.js';
import { benchBackend } from './lib/backend.js';
import { runGatewayLoad, type GatewayLoadReport } from './lib/gateway-load.js';
import { sendMessages, type SendReport } from './lib/http-senders.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { nowMs, round2 } from './lib/stats.js';
import { startCpuProfile } from './lib/cpu-profile.js';
import { traceSql } from './lib/sql-trace.js';
import { postgresBackendsCpu } from './lib/process-cpu.js';

const DEFAULTS = {
  clients: 100,
  seconds: 10,
  rate: 3000, // msgs/s; 0 = as fast as the server answers
  concurrency: 32, // HTTP requests in flight (keep-alive connections)
  senders: 16, // distinct members sending
  drain: 15, // seconds to wait for deliveries after the last POST
  profile: '', // write a .cpuprofile of the server process during the send window here
  'trace-sql': false, // count and time every SQL statement (adds a little overhead)
};
type Flags = typeof DEFAULTS;
// Frames whose inclusive share the profile summary reports (where a message's CPU goes).
const PROFILE_FRAMES = ['commitBatch', 'draftBatch', 'finalizeEvent', 'authorizeEvent', 'appendToRoom', 'deliver', 'dispatchMessageEvent', 'publish', 'query', 'execProtocolRawSync', 'canonicalize', 'sign', 'handle'];
const INTENTS = Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT;

async function http(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}/api/v10${path}`, {
    method,
    headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function register(base: string, username: string): Promise<string> {
  return (await http(base, 'POST', '/auth/register', undefined, { username, password: 'bench password 1234' })).token;
}

function child(role: string): { proc: ChildProcess; next: (type: string) => Promise<any> } {
  const proc = fork(fileURLToPath(import.meta.url), ['--role', role], { execArgv: ['--import', 'tsx'] });
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  proc.on('message', (m) => {
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  });
  proc.on('exit', (code) => {
    if (code) inbox.push({ type: 'error', error: `${role} exited with ${code}` });
    for (const w of waiters.splice(0)) w();
  });
  async function next(type: string): Promise<any> {
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const [m] = inbox.splice(i, 1);
        if (m.type === 'error') throw new Error(`${role}: ${m.error}`);
        return m;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  }
  return { proc, next };
}

async function main(flags: Flags): Promise<void> {
  const backend = await benchBackend();
  const config = { ...loadConfig({}, { port: '0', 'data-dir': backend.dataDir, 'server-name': 'bench.local', 'log-level': 'silent' }), rateLimits: false };
  const hs = await startHomeserver(config, { database: backend.database, log: silentLogger(), processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 } });
  const children: ChildProcess[] = [];
  try {
    // Setup over the real API: an owner, a guild, an invite, and one member per client.
    const owner = await register(hs.url, 'owner');
    const guild = await http(hs.url, 'POST', '/guilds', owner, { name: 'bench' });
    const channels = await http(hs.url, 'GET', `/guilds/${guild.id}/channels`, owner);
    const channelId = channels[0].id as string;
    const invite = await http(hs.url, 'POST', `/channels/${channelId}/invites`, owner, { max_uses: 0 });
    const tokens: string[] = [];
    for (let i = 0; i < flags.clients; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, flags.clients - i) }, (_, j) => register(hs.url, `member${i + j}`)));
      for (const token of batch) await http(hs.url, 'POST', `/invites/${invite.code}`, token);
      tokens.push(...batch);
    }

    const clients = child('clients');
    const senders = child('senders');
    children.push(clients.proc, senders.proc);
    clients.proc.send({ type: 'start', url: hs.gatewayUrl, tokens, intents: INTENTS, guildId: guild.id });
    await clients.next('ready');

    const sqlTrace = flags['trace-sql'] ? traceSql() : undefined;
    const stopProfile = flags.profile ? await startCpuProfile() : undefined;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const cpuStart = process.cpuUsage();
    const machineCpu = machineCpuWindow();
    const pgCpu = backend.database.databaseUrl ? await postgresBackendsCpu(backend.database.databaseUrl) : undefined;
    const senderTokens = tokens.slice(0, Math.max(1, Math.min(flags.senders, tokens.length)));
    senders.proc.send({ type: 'start', baseUrl: hs.url, channelId, tokens: senderTokens, rate: flags.rate, concurrency: flags.concurrency, seconds: flags.seconds });
    const sent = (await senders.next('sent')).report as SendReport;
    clients.proc.send({ type: 'report', expected: sent.accepted, deadline: nowMs() + flags.drain * 1000 });
    const got = (await clients.next('report')).report as GatewayLoadReport;
    const cpu = process.cpuUsage(cpuStart);
    const machineCores = machineCpu();
    const postgresCpuMs = pgCpu ? await pgCpu() : null;
    loop.disable();
    const profile = await stopProfile?.(flags.profile, PROFILE_FRAMES);

    const sendSeconds = (sent.lastResponseAt - sent.firstSendAt) / 1000;
    const serverCpuMs = (cpu.user + cpu.system) / 1000;
    const perMessage = (ms: number | null) => (ms === null ? null : Math.round((ms / Math.max(1, sent.accepted)) * 1000) / 1000);
    console.log(JSON.stringify({
      bench: 'rest-to-gateway',
      backend: backend.name,
      clients: flags.clients,
      messages: sent.accepted,
      seconds: round2(sendSeconds),
      messagesPerSecond: Math.round(sent.accepted / sendSeconds),
      latencyMs: { p50: got.latencyMs.p50, p90: got.latencyMs.p90, p99: got.latencyMs.p99, max: got.latencyMs.max },
      target: { rate: flags.rate || 'max', concurrency: flags.concurrency, senders: senderTokens.length, seconds: flags.seconds },
      attempted: sent.attempted,
      httpErrors: sent.errors,
      firstHttpError: sent.firstError,
      scheduleLagMs: sent.scheduleLagMs,
      postLatencyMs: sent.postLatencyMs,
      deliveries: { expected: sent.accepted * flags.clients, delivered: got.delivered, duplicates: got.duplicates, completeClients: got.completeClients, closedSockets: got.closed },
      deliverySeconds: round2((got.lastArrivalAt - sent.firstSendAt) / 1000),
      serverCpuSeconds: round2(serverCpuMs / 1000),
      serverCpuSystemShare: round2(cpu.system / Math.max(1, cpu.user + cpu.system)), // kernel share: socket writes and wake-ups
      // CPU-milliseconds each accepted message cost, per process (postgres: the backends of this bench's database).
      cpuMsPerMessage: {
        server: perMessage(serverCpuMs),
        postgres: perMessage(postgresCpuMs),
        gatewayClients: perMessage(got.cpuMs),
        httpSenders: perMessage(sent.cpuMs),
        total: perMessage(serverCpuMs + (postgresCpuMs ?? 0) + got.cpuMs + sent.cpuMs),
      },
      serverEventLoopDelayMs: { p50: round2(loop.percentile(50) / 1e6), p99: round2(loop.percentile(99) / 1e6), max: round2(loop.max / 1e6) },
      machineBusyCores: machineCores,
      ...(profile ? { serverProfile: profile } : {}),
      ...(sqlTrace ? { sql: { ...sqlTrace.totals(), perMessage: round2(sqlTrace.totals().statements / Math.max(1, sent.accepted)), top: sqlTrace.report(sent.accepted, 20) } } : {}),
      machine: machineInfo(),
    }));
  } finally {
    for (const c of children) c.kill();
    await hs.close();
    await backend.cleanup();
  }
}

/** A child process: waits for its 'start' message, then plays its role. */
async function runChild(role: string): Promise<void> {
  const start = await new Promise<any>((resolve) => process.once('message', resolve));
  try {
    if (role === 'clients') {
      const load = await runGatewayLoad(start);
      process.send!({ type: 'ready' });
      const ask = await new Promise<any>((resolve) => process.once('message', resolve));
      process.send!({ type: 'report', report: await load.report(ask.expected, ask.deadline) });
      load.close();
    } else {
      process.send!({ type: 'sent', report: await sendMessages(start) });
    }
  } catch (err) {
    process.send!({ type: 'error', error: String((err as Error)?.stack ?? err) });
  }
  process.disconnect();
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0) await runChild(process.argv[roleAt + 1]);
else await main(parseFlags(process.argv.slice(2), DEFAULTS));
