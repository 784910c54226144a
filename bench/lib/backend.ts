// The database a bench runs on: real Postgres when DATABASE_URL is set (a fresh database,
// dropped at the end), else PGlite in a temp directory (on disk, as a self-hoster runs it).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseOptions } from '../../src/store/database.js';

export interface BenchBackend {
  name: 'pglite' | 'postgres';
  database: DatabaseOptions;
  /** A temp dir the bench may use for keys and PGlite data; removed by cleanup(). */
  dataDir: string;
  cleanup(): Promise<void>;
}

export const BENCH_DATABASE_PREFIX = 'nexus_bench_';

export async function benchBackend(opts: { pgliteInMemory?: boolean } = {}): Promise<BenchBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nexus-bench-'));
  const base = process.env.DATABASE_URL;
  if (!base) {
    const database: DatabaseOptions = opts.pgliteInMemory ? {} : { pgliteDir: join(dataDir, 'pglite') };
    return { name: 'pglite', database, dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = BENCH_DATABASE_PREFIX + randomBytes(6).toString('hex');
  await adminQuery(base, `CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = '/' + name;
  return {
    name: 'postgres',
    database: { databaseUrl: url.toString() },
    dataDir,
    async cleanup() {
      await adminQuery(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}
