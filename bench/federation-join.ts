// Remote join benchmark (not a test): how long a user of one homeserver (A) waits to join a
// big guild that lives on another (B) with an invite `CODE@B`, until the guild's channels
// and recent messages are readable on A. B runs in a child process with a guild of
// `--members` members (joined straight through B's room writer, in batches: see
// bench/lib/fed-guild.ts) and `--messages` messages; A runs in this process. The clock
// runs from `POST /api/v10/invites/CODE@B` on A to the last of
//   GET /users/@me/guilds → GET /guilds/{id}/channels → GET /channels/{id}/messages
// answering on A. `--joins N` repeats it with N fresh joining servers (each its own
// database), against the same B (the first join finds B's caches cold, later ones warm).
//
//   npx tsx bench/federation-join.ts --members 10000 --joins 2
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/federation-join.ts
//
// Prints one JSON object.
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { loadConfig } from '../src/config.js';
import { startHomeserver } from '../src/homeserver.js';
import { createLogger, silentLogger } from '../src/log.js';
import { parseFlags } from './lib/args.js';
import { benchBackend } from './lib/backend.js';
import { startCpuProfile } from './lib/cpu-profile.js';
import { forkRole, parentInbox, runAsChild } from './lib/fed-child.js';
import { freePort } from './lib/federation-cluster.js';
import { addLocalUsers, addMembers } from './lib/fed-guild.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { processCpuMs } from './lib/process-cpu.js';
import { traceSql, type SqlTrace } from './lib/sql-trace.js';
import { nowMs, round2 } from './lib/stats.js';
import type { ProfileSummary } from './lib/profile-summary.js';

const DEFAULTS = {
  members: 10000, // members of the guild on B (besides its owner)
  messages: 50, // messages in its text channel before the join
  joins: 1, // fresh joining servers, one after another
  profile: '', // .cpuprofile of A (the joining server) over the first join
  'profile-resident': '', // .cpuprofile of B (the resident server) over the first join
  'trace-sql': false, // count and time every SQL statement of A (the joining server) over the first join
  timeout: 300, // seconds a join may take before the bench gives up on it (and stops)
  'fanout-wait': 120, // seconds to wait for A's fan-out of the join to finish (reported, not part of joinMs)
  cold: false,
  'resident-fanout': false, // keep B's gateway fan-out on while it fills the guild (minutes at 10k: see README) // skip the warm-up join (of a 20-member guild on B) that each joining server makes first
};
type Flags = typeof DEFAULTS;
const JOINER_FRAMES = ['joinRemoteGuild', 'checkPdu', 'verifyState', 'verifyCanonical', 'authorizeEvent', 'ensureRemoteUsers', 'commitRemote', 'planRemoteAppend', 'appendToRoom', 'projectPlanned', 'insertEvents', 'backfill', 'parse', 'query', 'execProtocolRawSync'];
const RESIDENT_FRAMES = ['checkPdu', 'commitRemote', 'planRemoteAppend', 'appendToRoom', 'loadStateBefore', 'stateOfGroup', 'loadAuthChain', 'walkAuthChain', 'json', 'stringify', 'query', 'execProtocolRawSync'];
const PASSWORD_COST = { N: 2 ** 12, r: 8, p: 1 };
// NEXUS_BENCH_LOG=warn (or any level) shows the servers' logs on stderr, and the bench's progress.
const benchLog = () => (process.env.NEXUS_BENCH_LOG ? createLogger({ level: process.env.NEXUS_BENCH_LOG }) : silentLogger());
const progress = (what: string) => {
  if (process.env.NEXUS_BENCH_LOG) process.stderr.write(`[${new Date().toISOString()}] ${what}\n`);
};

/** A client API call on a fresh connection (setup can outlast the server's keep-alive timeout). */
async function api(base: string, method: string, path: string, token?: string, body?: unknown, timeoutMs = 300_000): Promise<any> {
  const res = await request(`${base}/api/v10${path}`, {
    method: method as 'GET',
    reset: true,
    headersTimeout: Math.max(1, timeoutMs),
    bodyTimeout: Math.max(1, timeoutMs),
    headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

interface ResidentReady {
  serverName: string;
  code: string;
  warmCode: string;
  guildName: string;
  populateSeconds: number;
  fanoutSeconds: number;
  members: number;
  backend: string;
}

async function main(flags: Flags): Promise<void> {
  const resident = forkRole(fileURLToPath(import.meta.url), 'resident');
  let abandoned = false; // a join timed out: its server is left running until we exit
  const joiners: Array<{ a: Awaited<ReturnType<typeof startHomeserver>>; backend: Awaited<ReturnType<typeof benchBackend>> }> = [];
  try {
    resident.send({ type: 'setup', members: flags.members, messages: flags.messages, fanout: flags['resident-fanout'] });
    const b = await resident.next<ResidentReady>('ready');
    progress(`resident ready: ${b.members} members in ${b.populateSeconds} s`);
    const joins = [];
    let joinerProfile: ProfileSummary | undefined;
    let residentProfile: ProfileSummary | undefined;
    let sqlTrace: SqlTrace | undefined;
    let sql: unknown;
    for (let j = 0; j < flags.joins; j++) {
      const backend = await benchBackend();
      const port = await freePort();
      const config = {
        ...loadConfig({}, { port: String(port), 'data-dir': backend.dataDir, 'server-name': `127.0.0.1:${port}`, 'log-level': 'silent' }),
        rateLimits: false,
        // Open: the guild's state names earlier joining servers too, whose keys are needed.
        federation: { mode: 'open' as const, allow: [], insecure: true },
      };
      const a = await startHomeserver(config, { database: backend.database, log: benchLog(), processMetrics: false, passwordCost: PASSWORD_COST });
      // Kept running to the end: the next joining server verifies this one's join event.
      joiners.push({ a, backend });
      const joiner = (await api(a.url, 'POST', '/auth/register', undefined, { username: 'joiner', password: 'bench password 1234' })).token;
      // A running server has its code compiled and its caches warm: a small join first.
      if (!flags.cold) {
        await api(a.url, 'POST', `/invites/${b.warmCode}@${b.serverName}`, joiner, {});
        const warmGuild = (await api(a.url, 'GET', '/users/@me/guilds', joiner))[0];
        const warmText = (await api(a.url, 'GET', `/guilds/${warmGuild.id}/channels`, joiner)).find((c: { type: number }) => c.type === 0);
        await api(a.url, 'GET', `/channels/${warmText.id}/messages?limit=50`, joiner);
      }
      const profiling = j === 0;
      const stopProfile = profiling && flags.profile ? await startCpuProfile() : undefined;
      if (profiling && flags['trace-sql']) sqlTrace = traceSql();
      if (profiling && flags['profile-resident']) {
        resident.send({ type: 'profile-start' });
        await resident.next('profiling');
      }
      const machineCpu = machineCpuWindow();
      const cpuStart = process.cpuUsage();
      const residentCpuStart = processCpuMs(resident.proc.pid!) ?? 0;

      progress(`join ${j}: start`);
      const t0 = nowMs();
      const left = () => t0 + flags.timeout * 1000 - nowMs();
      let t1 = NaN;
      const timed = await (async () => {
        const joined = await api(a.url, 'POST', `/invites/${b.code}@${b.serverName}`, joiner, {}, left());
        t1 = nowMs();
        progress(`join ${j}: POST answered`);
        const guild = (await api(a.url, 'GET', '/users/@me/guilds', joiner, undefined, left())).find((g: { name: string }) => g.name === b.guildName);
        if (!guild) throw new Error('the joined guild is not among the joiner\'s guilds');
        const channels = await api(a.url, 'GET', `/guilds/${guild.id}/channels`, joiner, undefined, left());
        const text = channels.find((c: { type: number }) => c.type === 0);
        const messages = await api(a.url, 'GET', `/channels/${text.id}/messages?limit=50`, joiner, undefined, left());
        return { joined, guild, channels, messages };
      })().catch((err) => {
        if (!/UND_ERR_(HEADERS|BODY)_TIMEOUT/.test(String((err as { code?: string }).code))) throw err;
        return undefined;
      });
      const t2 = nowMs();
      if (!timed) {
        // A is still at it; closing it would wait for all of it. Report, and stop here.
        joins.push({ timedOut: true, afterMs: round2(t2 - t0), postInviteMs: Number.isNaN(t1) ? null : round2(t1 - t0) });
        abandoned = true;
        break;
      }
      const { joined, guild, channels, messages } = timed;

      const cpu = process.cpuUsage(cpuStart);
      const residentCpuMs = (processCpuMs(resident.proc.pid!) ?? residentCpuStart) - residentCpuStart;
      const busy = machineCpu();
      if (sqlTrace && profiling) sql = { ...sqlTrace.totals(), top: sqlTrace.report(1, 20) };
      if (stopProfile) joinerProfile = await stopProfile(flags.profile, JOINER_FRAMES);
      if (profiling && flags['profile-resident']) {
        resident.send({ type: 'profile-stop', file: flags['profile-resident'] });
        residentProfile = (await resident.next<{ summary: ProfileSummary }>('profile')).summary;
      }
      // What A holds now: the guild's members as A's views show them.
      const members = await a.database.db.selectFrom('members').select((eb) => eb.fn.countAll<string>().as('n'))
        .where('room_id', '=', joined.guild?.nexus_id ?? guild.nexus_id).where('membership', '=', 'join').executeTakeFirstOrThrow();
      joins.push({
        joinMs: round2(t2 - t0),
        postInviteMs: round2(t1 - t0),
        readMs: round2(t2 - t1),
        channels: channels.length,
        messagesShown: messages.length,
        membersOnJoiner: Number(members.n),
        joinerCpuMs: Math.round((cpu.user + cpu.system) / 1000),
        residentCpuMs: Math.round(residentCpuMs),
        machineBusyCores: busy,
        // After the join is readable: A's gateway fan-out of the events the join brought
        // (the guild's whole state), until its log reader is caught up, waited for at most
        // --fanout-wait seconds.
        joinerFanoutAfterSeconds: await fanoutAfter(a, flags['fanout-wait']),
      });
    }
    const times = joins.flatMap((r) => ('joinMs' in r ? [r.joinMs as number] : [])).sort((x, y) => x - y);
    console.log(JSON.stringify({
      bench: 'federation-join',
      backend: b.backend,
      members: b.members,
      messages: flags.messages,
      joinMs: { first: times.length ? (joins[0] as { joinMs?: number }).joinMs ?? null : null, median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1] },
      joins,
      // Setting B up: the member joins through its room writer, then its own gateway fan-out of them.
      residentSetup: { populateSeconds: b.populateSeconds, fanoutSeconds: flags['resident-fanout'] ? b.fanoutSeconds : 'off' },
      ...(joinerProfile ? { joinerProfile } : {}),
      ...(residentProfile ? { residentProfile } : {}),
      ...(sql ? { joinerSql: sql } : {}),
      machine: machineInfo(),
    }));
  } finally {
    for (const { a, backend } of joiners) {
      if (!abandoned) await a.close();
      await backend.cleanup();
    }
    resident.send({ type: 'stop' });
    await resident.next('stopped').catch(() => {});
    resident.kill();
  }
  if (abandoned) process.exit(0);
}

/** Seconds until `a`'s log reader has delivered everything logged so far, or a string when it takes longer than `limit`. */
async function fanoutAfter(a: Awaited<ReturnType<typeof startHomeserver>>, limit: number): Promise<number | string> {
  const t0 = nowMs();
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    a.tailer.caughtUp().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limit * 1000))),
  ]);
  clearTimeout(timer);
  return done ? round2((nowMs() - t0) / 1000) : `more than ${limit}`;
}

/** B: the resident server, with the big guild; profiles itself when asked. */
async function runResident(): Promise<void> {
  const inbox = parentInbox();
  const setup = await inbox.next<{ members: number; messages: number; fanout: boolean }>('setup');
  const backend = await benchBackend();
  const port = await freePort();
  const serverName = `127.0.0.1:${port}`;
  const config = {
    ...loadConfig({}, { port: String(port), 'data-dir': backend.dataDir, 'server-name': serverName, 'log-level': 'silent' }),
    rateLimits: false,
    federation: { mode: 'open' as const, allow: [], insecure: true },
  };
  const hs = await startHomeserver(config, { database: backend.database, log: benchLog(), processMetrics: false, passwordCost: PASSWORD_COST });
  try {
    const owner = (await api(hs.url, 'POST', '/auth/register', undefined, { username: 'owner', password: 'bench password 1234' })).token;
    const guildName = 'ten thousand';
    const guild = await api(hs.url, 'POST', '/guilds', owner, { name: guildName });
    const channel = (await api(hs.url, 'GET', `/guilds/${guild.id}/channels`, owner)).find((c: { type: number }) => c.type === 0);
    // B's gateway fan-out of 10,000 joins takes minutes (each member event copies the guild's
    // state and recomputes its audience) and nobody is connected to B's gateway: unless asked
    // to, B runs without it. The join on B (send_join) does not go through it.
    if (!setup.fanout) await hs.tailer.stop();
    const t0 = nowMs();
    await addLocalUsers(hs.database.db, serverName, setup.members);
    await addMembers(hs.writer, guild.nexus_id, `@owner:${serverName}`, serverName, setup.members);
    const populateSeconds = round2((nowMs() - t0) / 1000);
    progress(`resident: ${setup.members} members added in ${populateSeconds} s`);
    // The join is timed against a resident at rest: its own fan-out of those joins done.
    if (setup.fanout) await hs.tailer.caughtUp();
    const fanoutSeconds = round2((nowMs() - t0) / 1000 - populateSeconds);
    progress(`resident: fan-out drained after ${fanoutSeconds} more s`);
    for (let i = 0; i < setup.messages; i++) await api(hs.url, 'POST', `/channels/${channel.id}/messages`, owner, { content: `history ${i}` });
    const invite = await api(hs.url, 'POST', `/channels/${channel.id}/invites`, owner, { max_uses: 0 });
    const warm = await smallGuild(hs, owner, serverName);
    if (setup.fanout) await hs.tailer.caughtUp();
    process.send!({ type: 'ready', serverName, code: invite.code, warmCode: warm, guildName, populateSeconds, fanoutSeconds, members: setup.members + 1, backend: backend.name });

    let stop: Awaited<ReturnType<typeof startCpuProfile>> | undefined;
    for (;;) {
      const cmd = await inbox.next(['profile-start', 'profile-stop', 'stop']);
      if (cmd.type === 'profile-start') {
        stop = await startCpuProfile();
        process.send!({ type: 'profiling' });
      } else if (cmd.type === 'profile-stop') {
        process.send!({ type: 'profile', summary: await stop!(cmd.file, RESIDENT_FRAMES) });
      } else break;
    }
  } finally {
    await hs.close();
    await backend.cleanup();
  }
  process.send!({ type: 'stopped' });
}

/** A 20-member guild with a few messages, for the joining servers' warm-up joins; returns its invite code. */
async function smallGuild(hs: Awaited<ReturnType<typeof startHomeserver>>, owner: string, serverName: string): Promise<string> {
  const guild = await api(hs.url, 'POST', '/guilds', owner, { name: 'warm-up' });
  const channel = (await api(hs.url, 'GET', `/guilds/${guild.id}/channels`, owner)).find((c: { type: number }) => c.type === 0);
  await addLocalUsers(hs.database.db, serverName, 20, 'warm');
  await addMembers(hs.writer, guild.nexus_id, `@owner:${serverName}`, serverName, 20, { prefix: 'warm' });
  for (let i = 0; i < 5; i++) await api(hs.url, 'POST', `/channels/${channel.id}/messages`, owner, { content: `warm-up ${i}` });
  return (await api(hs.url, 'POST', `/channels/${channel.id}/invites`, owner, { max_uses: 0 })).code;
}

const roleAt = process.argv.indexOf('--role');
if (roleAt >= 0) await runAsChild(runResident);
else await main(parseFlags(process.argv.slice(2), DEFAULTS));
