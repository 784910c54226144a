// Startup benchmark (not a test): how long a homeserver takes to start on an EXISTING data
// dir. It starts once to create (and seed) the dir, then restarts --restarts times, each in
// a fresh process, timing spawn → GET /health answering, and inside the child the imports
// and startHomeserver() itself. Separately it times PGlite alone opening the same dir in a
// fresh process, so the result reads "startHomeserver = PGlite's own open + the rest".
//
// Entry point: by default each start is a child running startHomeserver(loadConfig(process.env))
// under `node --import tsx` (bench/lib/startup-child.ts), which also reports the imports and
// startHomeserver() separately. `--cli dist/src/cli.js` restarts with the real compiled CLI
// instead (`node <path> serve`, after `npm run build`; stopped with SIGTERM); then only the
// wall time and RSS are known. The first start (creation + seeding) always uses the child.
//
//   npx tsx bench/startup.ts --restarts 5 --seed 1000
//   npm run build && npx tsx bench/startup.ts --cli dist/src/cli.js
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/startup.ts
//
// Prints one JSON object.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from './lib/args.js';
import { benchBackend } from './lib/backend.js';
import { machineInfo } from './lib/machine.js';
import { nowMs, round2 } from './lib/stats.js';

const DEFAULTS = {
  restarts: 5,
  seed: 1000, // messages appended on the first start, so the dir holds some data
  cli: '', // path of the compiled CLI (dist/src/cli.js): restart with `node <cli> serve`
};

const CHILD = fileURLToPath(new URL('./lib/startup-child.ts', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number | null {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}

/** Messages from a forked child, awaited by type. */
function inbox(proc: ChildProcess) {
  const got: any[] = [];
  const waiters: Array<() => void> = [];
  let exited = false;
  proc.on('message', (m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  });
  proc.on('exit', () => {
    exited = true;
    for (const w of waiters.splice(0)) w();
  });
  return async function next(type: string): Promise<any> {
    for (;;) {
      const i = got.findIndex((m) => m.type === type);
      if (i >= 0) return got.splice(i, 1)[0];
      if (exited) throw new Error(`child exited before "${type}"`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
}

async function waitForHealth(url: string, proc: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (nowMs() > deadline) throw new Error('no /health answer in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface StartResult {
  wallToHealthMs: number;
  rssMb: number | null;
  bootMs?: number;
  importMs?: number;
  startHomeserverMs?: number;
  closeMs?: number;
}

async function startOnce(env: NodeJS.ProcessEnv, cli: string, seed = 0): Promise<StartResult> {
  const useCli = cli !== '';
  const port = await freePort();
  const childEnv = { ...env, NEXUS_PORT: String(port), NEXUS_LOG_LEVEL: 'warn', BENCH_SEED: String(seed) };
  const t0 = nowMs();
  const proc = useCli
    ? spawn(process.execPath, [cli, 'serve'], { env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] })
    : fork(CHILD, ['serve'], { env: childEnv, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = useCli ? undefined : inbox(proc);
  await waitForHealth(`http://127.0.0.1:${port}`, proc);
  const wallToHealthMs = nowMs() - t0;
  const rss = rssMb(proc.pid!);
  const result: StartResult = { wallToHealthMs: round2(wallToHealthMs), rssMb: rss };
  if (next) {
    const started = await next('started');
    Object.assign(result, { bootMs: round2(started.bootMs), importMs: round2(started.importMs), startHomeserverMs: round2(started.startHomeserverMs) });
    if (seed > 0) await next('seeded');
    proc.send({ type: 'stop' });
    result.closeMs = round2((await next('stopped')).closeMs);
  } else proc.kill('SIGTERM');
  await new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve())));
  return result;
}

async function pgliteOpen(dir: string): Promise<{ openMs: number; importMs: number; firstQueryMs: number; rssMb: number }> {
  const proc = fork(CHILD, ['pglite-open', dir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const m = await inbox(proc)('opened');
  await new Promise<void>((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', () => resolve())));
  return { openMs: round2(m.openMs), importMs: round2(m.importMs), firstQueryMs: round2(m.firstQueryMs), rssMb: Math.round(m.rssBytes / 2 ** 20) };
}

function stats(xs: Array<number | null | undefined>): { median: number; min: number; max: number } | null {
  const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  return { median: round2(v[Math.floor(v.length / 2)]), min: round2(v[0]), max: round2(v[v.length - 1]) };
}

async function main(flags: typeof DEFAULTS): Promise<void> {
  if (flags.cli && !existsSync(flags.cli)) throw new Error(`${flags.cli} does not exist: run npm run build`);
  const backend = await benchBackend();
  const env: NodeJS.ProcessEnv = { ...process.env, NEXUS_DATA_DIR: backend.dataDir, NEXUS_SERVER_NAME: 'bench.local', NEXUS_RATE_LIMITS: 'on' };
  if (backend.database.databaseUrl) env.DATABASE_URL = backend.database.databaseUrl;
  else delete env.DATABASE_URL;
  try {
    const first = await startOnce(env, '', flags.seed);
    const restarts: StartResult[] = [];
    const opens: Array<Awaited<ReturnType<typeof pgliteOpen>>> = [];
    for (let i = 0; i < flags.restarts; i++) {
      restarts.push(await startOnce(env, flags.cli));
      // Interleaved, so both see the same machine load.
      if (backend.name === 'pglite') opens.push(await pgliteOpen(join(backend.dataDir, 'pglite')));
    }
    const startMedian = stats(restarts.map((r) => r.startHomeserverMs))?.median;
    // PGlite's own share of a start: importing its module (startHomeserver imports it lazily) and opening the dir.
    const openMedian = stats(opens.map((o) => o.importMs + o.openMs))?.median;
    console.log(JSON.stringify({
      bench: 'startup',
      backend: backend.name,
      entry: flags.cli ? `node ${flags.cli} serve` : 'startHomeserver(loadConfig(env)) in a fresh child: node --import tsx bench/lib/startup-child.ts',
      seededMessages: flags.seed,
      firstStart: first,
      restarts: {
        n: restarts.length,
        wallToHealthMs: stats(restarts.map((r) => r.wallToHealthMs)),
        startHomeserverMs: stats(restarts.map((r) => r.startHomeserverMs)),
        nodeAndTsxBootMs: stats(restarts.map((r) => r.bootMs)),
        importMs: stats(restarts.map((r) => r.importMs)),
        rssMbAfterStart: stats(restarts.map((r) => r.rssMb)),
        closeMs: stats(restarts.map((r) => r.closeMs)),
        all: restarts,
      },
      ...(opens.length ? {
        pgliteOwnOpen: {
          n: opens.length,
          openMs: stats(opens.map((o) => o.openMs)),
          importPlusOpenMs: stats(opens.map((o) => o.importMs + o.openMs)),
          importMs: stats(opens.map((o) => o.importMs)),
          firstQueryMs: stats(opens.map((o) => o.firstQueryMs)),
          rssMb: stats(opens.map((o) => o.rssMb)),
        },
        startHomeserverMinusPgliteOwnMs: startMedian !== undefined && openMedian !== undefined ? round2(startMedian - openMedian) : null,
      } : {}),
      machine: machineInfo(),
    }));
  } finally {
    await backend.cleanup();
  }
}

await main(parseFlags(process.argv.slice(2), DEFAULTS));
