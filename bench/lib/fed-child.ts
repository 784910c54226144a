// Child processes for the federation benches: the bench script forks itself with
// `--role NAME`, and parent and child talk in typed messages over the IPC channel. Keeping
// the other side of a federation exchange in its own process keeps its CPU off the
// measured server's event loop (as far as a shared 2-core box allows).
import { fork, type ChildProcess } from 'node:child_process';

export interface BenchChild {
  proc: ChildProcess;
  send(message: Record<string, unknown>): void;
  /** The next message of `type` (a child's `{type: 'error'}` or its exit rejects). */
  next<T = any>(type: string): Promise<T>;
  kill(): void;
}

/** Forks `script` with `--role role` (under tsx, like the bench itself). */
export function forkRole(script: string, role: string, args: string[] = []): BenchChild {
  const proc = fork(script, ['--role', role, ...args], { execArgv: ['--import', 'tsx'] });
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  proc.on('message', (m) => {
    inbox.push(m);
    wake();
  });
  proc.on('exit', (code, signal) => {
    inbox.push({ type: 'error', error: `${role} exited (${code ?? signal})` });
    wake();
  });
  return {
    proc,
    send: (message) => proc.send(message),
    async next(type) {
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const [m] = inbox.splice(i, 1);
          if (m.type === 'error') throw new Error(`${role}: ${m.error}`);
          return m;
        }
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill();
    },
  };
}

/** In a child: the messages from the parent, one at a time. */
export function parentInbox(): { next<T = any>(type: string | string[]): Promise<T> } {
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  process.on('message', (m) => {
    inbox.push(m);
    for (const w of waiters.splice(0)) w();
  });
  return {
    async next(type) {
      for (;;) {
        const i = inbox.findIndex((m) => (Array.isArray(type) ? type.includes(m.type) : m.type === type));
        if (i >= 0) return inbox.splice(i, 1)[0];
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

/** Runs a child's body, reporting a failure to the parent instead of dying silently. */
export async function runAsChild(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    process.send!({ type: 'error', error: String((err as Error)?.stack ?? err) });
  }
  process.disconnect();
}
