// Federation catch-up benchmark (not a test): how long a server that was down while
// `--events` messages were written elsewhere takes to have all of them once it returns.
//
// Two homeservers, A and B, each in its own child process (bench/lib/federation-node.ts)
// with its own database (PGlite dirs, or two fresh Postgres databases with DATABASE_URL).
// A guild is hosted on A; a member of B joins it through `CODE@A`. One warm-up message
// crosses A → B. Then B is stopped for real (`--stop kill`: SIGKILL; `term`: a clean
// close), A writes `--events` messages in the guild through its guild service (the writer
// path the REST API uses, `--write-concurrency` in flight, group-committed), B stays down
// `--down-extra` more seconds, and B is started again (a new process, same database and
// port). From that spawn we poll B's message projection (what its REST API reads) until
// all `--events` are there, then check through B's REST API, page by page, that every one
// arrived exactly once.
//
// What this measures is A's outbound queue (src/federation/sender: backoff, catch-up past
// 1000 events per room sends the newest and leaves the gap to the peer) and B's receiver
// (src/federation/inbound/receive-pdus.ts: get_missing_events rounds of 100). N includes
// the time A waits for its next retry of B (its backoff), reported apart.
//
//   npx tsx bench/federation-catchup.ts --events 10000
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/federation-catchup.ts
//
// Prints one JSON object.
import { parseFlags } from './lib/args.js';
import { benchBackend, type BenchBackend } from './lib/backend.js';
import { LogCounter, pairSpecs, relativeStats, startFedNode, type FedNode } from './lib/federation-cluster.js';
import { api, setupFederatedGuild } from './lib/federation-setup.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { postgresBackendsCpu, processCpuMs } from './lib/process-cpu.js';
import { round2 } from './lib/stats.js';

const DEFAULTS = {
  events: 10_000,
  'write-concurrency': 100, // messages in flight while A writes the backlog
  stop: 'kill', // how B goes down: kill (SIGKILL) | term (a clean close)
  'down-extra': 0, // seconds B stays down after the writes
  timeout: 300, // max seconds to wait for B to catch up
  poll: 100, // ms between looks at B's message count
  'log-level': 'info', // the servers' pino level (lines are counted by message in the output)
  profile: '', // write CPU profiles of A and B over the catch-up to <profile>-A/-B.cpuprofile (+ summaries)
};
// Frames whose inclusive share the profile summaries report.
const PROFILE_FRAMES = ['receive', 'appendFillingGaps', 'fetchMissing', 'checkPdu', 'verifyCanonical', 'inspectPdu', 'submitRemote', 'appendToRoom', 'walkMissingEvents', 'runDestination', 'feed', 'query', 'execProtocolRawSync'];
type Flags = typeof DEFAULTS;
const PREFIX = 'catchup';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls B's count of `prefix` messages until it reaches `want` or `timeoutMs` passes. */
async function waitForCount(node: FedNode, roomId: string, prefix: string, want: number, opts: { pollMs: number; timeoutMs: number; from: number }) {
  const progress: Array<[number, number]> = []; // [seconds since `from`, count], about once a second
  let firstAt: number | undefined;
  let last = { count: 0, distinct: 0 };
  const until = performance.now() + opts.timeoutMs;
  for (;;) {
    last = await node.request({ op: 'count', roomId, prefix });
    const now = performance.now();
    if (last.count > 0 && firstAt === undefined) firstAt = now;
    const s = round2((now - opts.from) / 1000);
    if (progress.length === 0 || s - progress[progress.length - 1][0] >= 1 || last.count >= want) progress.push([s, last.count]);
    if (last.count >= want || now > until) return { ...last, done: last.count >= want, at: now, firstAt, progress };
    await sleep(opts.pollMs);
  }
}

/** Every message of B's channel through the REST API (100 per page, newest first). */
async function listAllBodies(url: string, token: string, channelId: string): Promise<string[]> {
  const bodies: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await api(url, 'GET', `/channels/${channelId}/messages?limit=100${before ? `&before=${before}` : ''}`, token) as Array<{ id: string; content: string }>;
    bodies.push(...page.map((m) => m.content));
    if (page.length < 100) return bodies;
    before = page[page.length - 1].id;
  }
}

function checkAll(bodies: string[], n: number) {
  const seen = new Uint8Array(n);
  let duplicates = 0;
  for (const b of bodies) {
    if (!b.startsWith(PREFIX + ' ')) continue;
    const i = Number(b.slice(PREFIX.length + 1));
    if (seen[i]) duplicates++;
    seen[i] = 1;
  }
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen[i]) missing.push(i);
  return { present: n - missing.length, duplicates, missingCount: missing.length, missingSample: missing.slice(0, 10), missingRanges: ranges(missing).slice(0, 10) };
}

function ranges(xs: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out;
}

const forB = (status: Array<{ destination: string }>, name: string) => status.find((s) => s.destination === name);

async function main(flags: Flags): Promise<void> {
  if (flags.stop !== 'kill' && flags.stop !== 'term') throw new Error('--stop must be kill or term');
  const backends: BenchBackend[] = [];
  const nodes = new Set<FedNode>();
  const logs = new LogCounter();
  let restartEpoch = 0;
  try {
    backends.push(await benchBackend(), await benchBackend());
    const [specA, specB] = await pairSpecs([backends[0], backends[1]], flags['log-level']);
    const a = await startFedNode(specA, logs, 'A');
    nodes.add(a);
    let b = await startFedNode(specB, logs, 'B');
    nodes.add(b);
    const g = await setupFederatedGuild(a.url, specA.serverName, b.url, { aMembers: 0, bMembers: 1 });

    // One message across first, so keys are fetched and the path is warm before the outage.
    const warmT = performance.now();
    await api(a.url, 'POST', `/channels/${g.a.channelId}/messages`, g.owner.token, { content: 'warm 0' });
    const warm = await waitForCount(b, g.roomId, 'warm', 1, { pollMs: 20, timeoutMs: 30_000, from: warmT });
    if (!warm.done) throw new Error('the warm-up message never reached B');

    const downAt = performance.now();
    if (flags.stop === 'kill') await b.kill();
    else await b.stop();
    nodes.delete(b);
    const written = await a.request({ op: 'seed', roomId: g.roomId, sender: g.owner.nexusId, count: flags.events, prefix: PREFIX, concurrency: flags['write-concurrency'] });
    if (flags['down-extra'] > 0) await sleep(flags['down-extra'] * 1000);
    const beforeRestart = forB(await a.request({ op: 'status' }), specB.serverName) as { pending: number; failures: number; retry_at_ts: number } | undefined;
    const downSeconds = round2((performance.now() - downAt) / 1000);

    // B returns: a new process on the same database and port. N counts from this spawn.
    const machineCpu = machineCpuWindow();
    const cpu0 = { a: processCpuMs(a.pid) ?? 0 };
    const pgA = backends[0].database.databaseUrl ? await postgresBackendsCpu(backends[0].database.databaseUrl) : undefined;
    await a.request({ op: 'fedStats', reset: true });
    const restartAt = performance.now();
    restartEpoch = Date.now();
    const retryInMs = beforeRestart ? Math.max(0, Number(beforeRestart.retry_at_ts) - Date.now()) : null;
    b = await startFedNode(specB, logs, 'B');
    nodes.add(b);
    const readyAt = performance.now();
    if (flags.profile) await Promise.all([a.request({ op: 'profileStart' }), b.request({ op: 'profileStart' })]);
    const pgB = backends[1].database.databaseUrl ? await postgresBackendsCpu(backends[1].database.databaseUrl) : undefined;
    const caught = await waitForCount(b, g.roomId, PREFIX, flags.events, { pollMs: flags.poll, timeoutMs: flags.timeout * 1000, from: restartAt });
    const cpuMs = { a: (processCpuMs(a.pid) ?? 0) - cpu0.a, b: processCpuMs(b.pid) ?? 0, postgresA: pgA ? await pgA() : null, postgresB: pgB ? await pgB() : null };
    const busyCores = machineCpu();
    const profiles = flags.profile
      ? { a: await a.request({ op: 'profileStop', file: `${flags.profile}-A.cpuprofile`, frames: PROFILE_FRAMES }), b: await b.request({ op: 'profileStop', file: `${flags.profile}-B.cpuprofile`, frames: PROFILE_FRAMES }) }
      : undefined;
    const requests = { a: relativeStats(await a.request({ op: 'fedStats' }), restartEpoch), b: relativeStats(await b.request({ op: 'fedStats' }), restartEpoch) };
    const afterCatchUp = forB(await a.request({ op: 'status' }), specB.serverName);

    // The check that matters: every message, once, through B's own REST API.
    const bodies = await listAllBodies(b.url, g.b.tokens[0], g.b.channelId);
    const check = checkAll(bodies, flags.events);
    const s = (t: number | undefined) => (t === undefined ? null : round2((t - restartAt) / 1000));
    console.log(JSON.stringify({
      bench: 'federation-catchup',
      backend: backends[0].name,
      events: flags.events,
      caughtUp: caught.done && check.missingCount === 0 && check.duplicates === 0,
      // N: from B's restart (spawn of its process) until all events are readable on B.
      catchUpSeconds: caught.done ? s(caught.at) : null,
      breakdown: {
        restartToListeningSeconds: s(readyAt),
        // A's backoff: B is back, but A tries it again only when its retry is due.
        aFirstSendAfterRestartSeconds: requests.a.send?.first ?? null,
        aRetryDueInSecondsAtRestart: retryInMs === null ? null : round2(retryInMs / 1000),
        // B fetching the gap from A (get_missing_events, 100 events a round), then appending.
        bGapFetchSeconds: requests.b.get_missing_events ? [requests.b.get_missing_events.first, requests.b.get_missing_events.lastEnd] : null,
        firstEventSeenSeconds: s(caught.firstAt),
      },
      eventsPerSecondFromFirstSend: caught.done && requests.a.send ? Math.round(flags.events / (s(caught.at)! - requests.a.send.first)) : null,
      onB: { projected: caught.count, distinctProjected: caught.distinct, rest: check },
      outage: { stop: flags.stop, downSeconds, writeSeconds: round2(written.ms / 1000), writeEventsPerSecond: Math.round(flags.events / (written.ms / 1000)), aQueueForB: beforeRestart ?? null },
      aQueueForBAfter: afterCatchUp ?? null,
      progress: caught.progress,
      // Outbound federation requests during the catch-up, by endpoint (A: send; B: get_missing_events…),
      // first/last in seconds after B's restart.
      requests,
      cpuSecondsDuringCatchUp: { a: round2(cpuMs.a / 1000), b: round2(cpuMs.b / 1000), postgresA: cpuMs.postgresA === null ? null : round2(cpuMs.postgresA / 1000), postgresB: cpuMs.postgresB === null ? null : round2(cpuMs.postgresB / 1000) },
      machineBusyCores: busyCores,
      ...(profiles ? { profiles } : {}),
      setup: { remoteJoinMs: g.remoteJoinMs, warmUpMs: Math.round(warm.at - warmT), bRestartSpawnToListeningMs: b.spawnToReadyMs, bStartHomeserverMs: b.startHomeserverMs },
      // [count, first, last]: seconds after B's restart (negative: before it)
      logLines: logs.summary(restartEpoch),
      machine: machineInfo(),
    }));
  } catch (err) {
    // What the servers logged says more than the stack of a failed setup request.
    console.error('server log lines (count, first, last: seconds from now):', JSON.stringify(logs.summary(Date.now()), null, 1), [...logs.firstProblems.values()].join('\n'));
    throw err;
  } finally {
    for (const n of nodes) await n.stop().catch(() => undefined);
    for (const be of backends) await be.cleanup().catch(() => undefined);
  }
}

await main(parseFlags(process.argv.slice(2), DEFAULTS));
