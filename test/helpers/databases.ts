import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseOptions } from '../../src/store/database.js';

/**
 * The backends a test runs on: PGlite always, real Postgres too when DATABASE_URL is set
 * (CI sets it). Each call of `options()` gives a fresh, empty database.
 */
export function testDatabaseOptions(): Array<{ name: string; options: () => Promise<DatabaseOptions> }> {
  const backends: Array<{ name: string; options: () => Promise<DatabaseOptions> }> = [
    { name: 'pglite', options: async () => ({}) },
  ];
  if (process.env.DATABASE_URL) backends.push({ name: 'postgres', options: async () => ({ databaseUrl: await freshPostgresDatabase() }) });
  return backends;
}

/** The backend for tests that run once: Postgres when DATABASE_URL is set, else PGlite. */
export async function defaultTestDatabase(): Promise<DatabaseOptions> {
  return process.env.DATABASE_URL ? { databaseUrl: await freshPostgresDatabase() } : {};
}

export const TEST_DATABASE_PREFIX = 'nexus_test_';

/** Creates a new database on the DATABASE_URL server; test/global-teardown.ts drops them. */
export async function freshPostgresDatabase(): Promise<string> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('DATABASE_URL is not set');
  const name = TEST_DATABASE_PREFIX + randomBytes(6).toString('hex');
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = '/' + name;
  return url.toString();
}
