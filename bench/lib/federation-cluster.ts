// The parent side of the federation benches: homeservers in child processes
// (federation-node.ts), each on its own database and loopback port, federating with each
// other by allow list; a guild hosted on one with members joined from the other through
// `CODE@server`, set up over the real client API.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BenchBackend } from './backend.js';
import type { NodeRequest, RequestStats } from './federation-node.js';

const NODE_SCRIPT = fileURLToPath(new URL('./federation-node.ts', import.meta.url));

/** A forked child speaking IPC: typed messages ({type}) and answered requests ({id}). */
export interface IpcChild {
  proc: ChildProcess;
  /** The next message of this type (an 'error' message or an early exit rejects). */
  next(type: string): Promise<any>;
  request(msg: object): Promise<any>;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<number | string | null>;
}

export function forkIpcChild(file: string, args: string[], onStderrLine?: (line: string) => void): IpcChild {
  const proc = fork(file, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', onStderrLine ? 'pipe' : 'inherit', 'ipc'] });
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let gone: string | undefined;
  if (onStderrLine) {
    let buf = '';
    proc.stderr!.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        onStderrLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  }
  proc.on('message', (m: any) => {
    if (typeof m?.id === 'number' && pending.has(m.id)) {
      const p = pending.get(m.id)!;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
      return;
    }
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | string | null>((resolve) => {
    proc.on('exit', (code, signal) => {
      gone = `exited (${signal ?? code})`;
      for (const p of pending.values()) p.reject(new Error(`${file}: ${gone} before answering`));
      pending.clear();
      for (const w of waiters.splice(0)) w();
      resolve(signal ?? code);
    });
  });
  return {
    proc,
    exited,
    async next(type) {
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const [m] = inbox.splice(i, 1);
          if (m.type === 'error') throw new Error(`${args.join(' ')}: ${m.error}`);
          return m;
        }
        if (gone) throw new Error(`${file} ${args.join(' ')}: ${gone} while waiting for '${type}'`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    request(msg) {
      if (gone) return Promise.reject(new Error(`${file}: ${gone}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        proc.send({ ...msg, id });
      });
    },
  };
}

/** A TCP port free on 127.0.0.1 now: a federating server's name carries its port, so it
 *  must be known before the server listens. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface FedNodeSpec {
  serverName: string;
  port: number;
  backend: BenchBackend;
  allow: string[];
  logLevel: string;
}

export interface FedNode {
  spec: FedNodeSpec;
  url: string;
  gatewayUrl: string;
  pid: number;
  /** Spawn → the server listening (ms), and startHomeserver() inside the child. */
  spawnToReadyMs: number;
  startHomeserverMs: number;
  request(r: NodeRequest): Promise<any>;
  /** A clean shutdown (hs.close()), waited for. */
  stop(): Promise<void>;
  /** SIGKILL, waited for: an outage with no goodbye. */
  kill(): Promise<void>;
}

/** Log lines of every node, counted by (server, level, msg), with when each first and last
 *  appeared: what a run went through, and when. */
export class LogCounter {
  private counts = new Map<string, { n: number; first: number; last: number }>();
  /** The first full line of each warning or error, for when a run fails. */
  readonly firstProblems = new Map<string, string>();
  line(server: string, text: string): void {
    let key: string;
    let at = Date.now();
    try {
      const j = JSON.parse(text) as { level?: number; msg?: string; time?: number };
      key = `${server} ${LEVEL_NAMES[j.level ?? 0] ?? j.level} ${j.msg ?? ''}`;
      if (typeof j.time === 'number') at = j.time;
      if ((j.level ?? 0) >= 40 && !this.firstProblems.has(key)) this.firstProblems.set(key, text.slice(0, 2000));
    } catch {
      key = `${server} stderr ${text.slice(0, 160)}`;
    }
    const c = this.counts.get(key);
    if (c) {
      c.n++;
      c.last = at;
    } else this.counts.set(key, { n: 1, first: at, last: at });
  }
  /** Per line: [count, first, last] in seconds after `zero` (a Date.now() value). */
  summary(zero: number): Record<string, [number, number, number]> {
    const s = (t: number) => Math.round((t - zero) / 10) / 100;
    return Object.fromEntries([...this.counts].sort((a, b) => a[1].first - b[1].first).slice(0, 40).map(([k, c]) => [k, [c.n, s(c.first), s(c.last)]]));
  }
}
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Starts one homeserver child on `spec` and waits until it listens. */
export async function startFedNode(spec: FedNodeSpec, logs: LogCounter, label: string): Promise<FedNode> {
  const t0 = performance.now();
  const child = forkIpcChild(NODE_SCRIPT, ['--server', label], (line) => logs.line(label, line));
  child.proc.send({
    type: 'start', serverName: spec.serverName, port: spec.port, dataDir: spec.backend.dataDir,
    database: spec.backend.database, allow: spec.allow, logLevel: spec.logLevel,
  });
  const started = await child.next('started');
  const spawnToReadyMs = Math.round(performance.now() - t0);
  return {
    spec, spawnToReadyMs, url: started.url, gatewayUrl: started.gatewayUrl, pid: started.pid, startHomeserverMs: started.startMs,
    request: (r) => child.request(r),
    async stop() {
      await child.request({ op: 'stop' }).catch(() => undefined);
      await child.exited;
    },
    async kill() {
      child.proc.kill('SIGKILL');
      await child.exited;
    },
  };
}

/** Two server specs, A and B, on fresh loopback ports, each allowing only the other. */
export async function pairSpecs(backends: [BenchBackend, BenchBackend], logLevel: string): Promise<[FedNodeSpec, FedNodeSpec]> {
  const ports = [await freePort(), await freePort()];
  const names = ports.map((p) => `127.0.0.1:${p}`);
  return [0, 1].map((i) => ({ serverName: names[i], port: ports[i], backend: backends[i], allow: [names[1 - i]], logLevel })) as [FedNodeSpec, FedNodeSpec];
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Request stats with their epoch times made seconds after `zero`. */
export function relativeStats(stats: Record<string, RequestStats>, zero: number) {
  const s = (t: number) => r2((t - zero) / 1000);
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, {
    calls: v.calls, failures: v.failures, events: v.events, sentPdus: v.sentPdus, totalMs: Math.round(v.totalMs), maxMs: Math.round(v.maxMs), first: s(v.firstStart), lastEnd: s(v.lastEnd),
  }]));
}
