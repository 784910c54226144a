// Several real `nexus serve` processes that federate with each other over loopback, each
// with its own data dir (keys, PGlite) or its own database on the DATABASE_URL server.
// Configured only through the documented environment (README, "Configuration"), so the
// tests see what an operator running `nexus serve` would. Each node can be killed with
// SIGKILL, stopped with SIGTERM and started again on the same port and database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { runCli } from './cli-process.js';
import { freePort } from './ports.js';

export type ServeBackend = 'pglite' | 'postgres';

/**
 * Where the processes keep their data: on Postgres when DATABASE_URL is set (CI), each in
 * its own database, else in PGlite data dirs. Starting three PGlite servers costs ~20 s of
 * a 2-core box, so one backend per run; NEXUS_TEST_SERVE_BACKENDS=pglite,postgres runs both.
 */
export function serveBackends(): ServeBackend[] {
  const listed = (process.env.NEXUS_TEST_SERVE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of listed) if (b !== 'pglite' && b !== 'postgres') throw new Error(`NEXUS_TEST_SERVE_BACKENDS: unknown backend ${b}`);
  if (listed.includes('postgres') && !process.env.DATABASE_URL) throw new Error('NEXUS_TEST_SERVE_BACKENDS lists postgres but DATABASE_URL is not set');
  if (listed.length > 0) return listed as ServeBackend[];
  return [process.env.DATABASE_URL ? 'postgres' : 'pglite'];
}

export interface ServeNode {
  /** `127.0.0.1:<port>`: the server name, fixed across restarts. */
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly gatewayUrl: string;
  /** The environment `nexus serve` and the CLI commands of this node run with. */
  readonly env: Record<string, string>;
  running(): boolean;
  start(): Promise<void>;
  /** SIGKILL, then waits for the process to be gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a graceful stop), then waits for the process to exit. */
  stop(): Promise<void>;
  /** Runs `nexus <args>` against this node's data dir and database. With PGlite the node
   *  must be stopped: the embedded database belongs to one process at a time. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Everything every run of this node printed. */
  output(): string;
}

export interface ServeCluster {
  readonly backend: ServeBackend;
  readonly nodes: ServeNode[];
  /** Kills whatever still runs (SIGKILL), drops the databases, removes the data dirs. */
  destroy(): Promise<void>;
  /** The tail of every node's output, for a failure message. */
  logs(maxChars?: number): string;
  /** Runs `body`; if it throws, the nodes' logs are added to the error's message. */
  withLogs(body: () => Promise<void>): Promise<void>;
}

export interface ServeClusterOptions {
  backend: ServeBackend;
  size: number;
  /** pino level of the servers (default: NEXUS_TEST_LOG, else warn). */
  logLevel?: string;
}

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, 'src/cli.ts');

/**
 * Like startServeProcess (cli-process.ts), but the child is handed to `track` as soon as it
 * exists, so a server that never comes up is still killed by whoever tracks it.
 */
function spawnServe(env: Record<string, string>, track: (child: ChildProcess) => void): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let out = '';
    let listening = false;
    const onData = (b: Buffer) => {
      out += b;
      const m = listening ? null : /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        listening = true;
        resolvePromise({ url: m[1], child, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!listening) reject(new Error(`nexus serve exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * A new database on the DATABASE_URL server for one node. Not named like the per-test
 * databases (databases.ts): test/global-teardown.ts drops every one of those, and another
 * jest run finishing on the same Postgres would drop these under running servers. The
 * cluster drops its own in destroy().
 */
async function freshNodeDatabase(): Promise<string> {
  const name = `nexus_proc_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = '/' + name;
  return url.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * Starts `size` nodes at once, each allowing the others (NEXUS_FEDERATION=allowlist) over
 * plain HTTP (NEXUS_FEDERATION_INSECURE=1). Ports are chosen first because each server's
 * name carries its port and every other server must be told it.
 */
export async function startServeCluster(opts: ServeClusterOptions): Promise<ServeCluster> {
  const ports: number[] = [];
  while (ports.length < opts.size) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const names = ports.map((p) => `127.0.0.1:${p}`);
  const dirs: string[] = [];
  const databases: string[] = [];
  const children = new Set<ChildProcess>();
  // A jest worker that dies without running afterAll must not leave servers behind.
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const nodes: ServeNode[] = [];
  try {
    for (const [i, port] of ports.entries()) {
      const dataDir = await mkdtemp(join(tmpdir(), `nexus-proc-${i}-`));
      dirs.push(dataDir);
      const env: Record<string, string> = {
        NEXUS_SERVER_NAME: names[i],
        NEXUS_HOST: '127.0.0.1',
        NEXUS_PORT: String(port),
        NEXUS_DATA_DIR: dataDir,
        NEXUS_RATE_LIMITS: 'off',
        NEXUS_LOG_LEVEL: opts.logLevel ?? process.env.NEXUS_TEST_LOG ?? 'warn',
        NEXUS_FEDERATION: 'allowlist',
        NEXUS_FEDERATION_ALLOW: names.filter((n) => n !== names[i]).join(','),
        NEXUS_FEDERATION_INSECURE: '1',
      };
      if (opts.backend === 'postgres') {
        env.DATABASE_URL = await freshNodeDatabase();
        databases.push(env.DATABASE_URL);
      }
      nodes.push(createNode(names[i], port, env, children));
    }
    for (const n of nodes) await n.start();
  } catch (err) {
    killAll();
    throw err;
  }

  const logs = (maxChars = 4000) => nodes.map((n) => `--- ${n.name} ---\n${n.output().slice(-maxChars)}`).join('\n');
  return {
    backend: opts.backend,
    nodes,
    logs,
    async withLogs(body) {
      try {
        await body();
      } catch (err) {
        if (err instanceof Error) err.message += `\n\nserver output:\n${logs()}`;
        // NEXUS_TEST_LOG_DIR=dir keeps every node's whole output for a post-mortem.
        const dir = process.env.NEXUS_TEST_LOG_DIR;
        if (dir) for (const n of nodes) await writeFile(join(dir, `${n.name.replace(':', '_')}.log`), n.output()).catch(() => undefined);
        throw err;
      }
    },
    async destroy() {
      killAll();
      await Promise.all([...children].map(waitForExit));
      process.removeListener('exit', killAll);
      // NEXUS_TEST_KEEP=1 leaves the data dirs and databases for a post-mortem (nexus events …).
      if (process.env.NEXUS_TEST_KEEP) {
        process.stderr.write(`kept for a post-mortem: ${nodes.map((n) => `${n.name} ${JSON.stringify({ NEXUS_DATA_DIR: n.env.NEXUS_DATA_DIR, DATABASE_URL: n.env.DATABASE_URL })}`).join('; ')}\n`);
        return;
      }
      for (const url of databases) await dropDatabase(url).catch(() => undefined);
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

function createNode(name: string, port: number, env: Record<string, string>, children: Set<ChildProcess>): ServeNode {
  let child: ChildProcess | undefined;
  let previousOutput = '';
  let currentOutput: () => string = () => '';
  const url = `http://127.0.0.1:${port}`;
  const running = () => !!child && child.exitCode === null && child.signalCode === null;

  async function end(signal: NodeJS.Signals): Promise<void> {
    if (!child) return;
    const c = child;
    if (running()) c.kill(signal);
    await waitForExit(c);
    previousOutput += currentOutput() + `\n[${signal === 'SIGKILL' ? 'killed with SIGKILL' : 'stopped'}; exit ${c.exitCode ?? c.signalCode}]\n`;
    currentOutput = () => '';
    child = undefined;
  }

  return {
    name,
    port,
    url,
    gatewayUrl: `ws://127.0.0.1:${port}/gateway`,
    env,
    running,
    async start() {
      if (running()) throw new Error(`${name} is already running`);
      const started = await spawnServe(env, (c) => {
        child = c;
        children.add(c);
      });
      currentOutput = started.output;
      if (started.url !== url) throw new Error(`${name} listens on ${started.url}, expected ${url}`);
    },
    kill9: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    cli(args) {
      if (running() && !env.DATABASE_URL) throw new Error(`${name}: stop it before running the CLI on its PGlite data dir`);
      return runCli(args, env);
    },
    output: () => previousOutput + currentOutput(),
  };
}
