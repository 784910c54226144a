// CPU time of other processes, from /proc (Linux): used to charge a bench's Postgres
// backends (those connected to the bench's own database) with the CPU they spent, so a
// result can say how many CPU-milliseconds each message cost in every process involved.
import { readFileSync } from 'node:fs';
import pg from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process in ms, or undefined when it is gone (or not Linux). */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND; // utime, stime are fields 14, 15
  } catch {
    return undefined;
  }
}

/** Starts measuring the backends serving `databaseUrl`; the returned function gives their CPU ms since. */
export async function postgresBackendsCpu(databaseUrl: string): Promise<() => Promise<number | null>> {
  const dbName = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const own = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const pids = async (): Promise<number[]> =>
    (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2', [dbName, own])).rows.map((r) => r.pid);
  const start = new Map<number, number>();
  for (const pid of await pids()) start.set(pid, processCpuMs(pid) ?? 0);
  return async () => {
    let total = 0;
    let seen = false;
    for (const pid of await pids()) {
      const now = processCpuMs(pid);
      if (now === undefined) continue;
      seen = true;
      total += now - (start.get(pid) ?? 0); // a backend started during the run counts from zero
    }
    await client.end();
    return seen ? total : null;
  };
}
