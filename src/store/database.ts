import { mkdir } from 'node:fs/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pglitePool } from './pglite-pool.js';
import { migrate } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenedDatabase {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Subscribes to appends made by any process on this database (LISTEN/NOTIFY on Postgres). */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Real Postgres; when set, PGlite is not used. */
  databaseUrl?: string;
  /** PGlite's data directory; in memory when absent (tests). */
  pgliteDir?: string;
  poolSize?: number;
}

const INT8_OID = 20;

/** Opens the database (Postgres with a URL, PGlite otherwise) and applies migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  const opened = options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : await openPglite(options.pgliteDir);
  await migrate(opened.db);
  return opened;
}

function openPostgres(url: string, poolSize: number): OpenedDatabase {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client's error (e.g. the server restarting) must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const listeners: pg.Client[] = [];
  return {
    db,
    kind: 'postgres',
    async listen(channel, onNotify) {
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => {});
      await client.connect();
      client.on('notification', (n) => n.channel === channel && onNotify());
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      listeners.push(client);
      return async () => {
        listeners.splice(listeners.indexOf(client), 1);
        await client.end();
      };
    },
    async close() {
      await Promise.all(listeners.splice(0).map((c) => c.end()));
      await db.destroy();
    },
  };
}

async function openPglite(dir: string | undefined): Promise<OpenedDatabase> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dir) await mkdir(dir, { recursive: true });
  // int8 as text, as node-postgres returns it: snowflakes exceed 2^53.
  const pgl = new PGlite({ dataDir: dir, parsers: { [INT8_OID]: (value: string) => value } });
  await pgl.waitReady;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: pglitePool(pgl) }) });
  return {
    db,
    kind: 'pglite',
    async listen(channel, onNotify) {
      // PGlite lives inside this process, so its notifications are all there is.
      const unlisten = await pgl.listen(channel, onNotify);
      return unlisten;
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Sends a notification on commit of the transaction it runs in. */
export async function notifyOnCommit(trx: Db, channel: string): Promise<void> {
  await sql`SELECT pg_notify(${channel}, '')`.execute(trx);
}
