import { sql } from 'kysely';
import type { Db } from './database.js';
import { PROJECTION_TABLES } from './migrations.js';

/**
 * A canonical dump of the projection tables, for comparing two states of the views (the
 * live ones and a rebuild's) with a deep equality: each table's rows, every column, sorted
 * by primary key, as plain JSON values (int8 as decimal strings, jsonb parsed, timestamps
 * as ISO strings, bytea as base64).
 *
 * projection_checkpoints is left out unless asked for: it says how far a projector got,
 * not what the views hold (a rebuild adds its own row).
 */
export async function snapshotViews(db: Db, opts: { includeCheckpoints?: boolean } = {}): Promise<Record<string, unknown[]>> {
  const tables = PROJECTION_TABLES.filter((t) => opts.includeCheckpoints || t !== 'projection_checkpoints');
  const snapshot: Record<string, unknown[]> = {};
  for (const table of tables) {
    const key = await primaryKey(db, table);
    const order = key.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ');
    const { rows } = await sql.raw<Record<string, unknown>>(`SELECT * FROM "${table}" ORDER BY ${order}`).execute(db);
    snapshot[table] = rows.map(normalizeRow);
  }
  return snapshot;
}

/** The primary key's columns of `table`, in key order (read from the catalog, so no schema is repeated here). */
async function primaryKey(db: Db, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT a.attname AS name FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = ${table}::regclass AND i.indisprimary
    ORDER BY array_position(i.indkey::int2[], a.attnum)`.execute(db);
  if (rows.length === 0) throw new Error(`${table} has no primary key to sort by`);
  return rows.map((r) => r.name);
}

function normalizeRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) out[column] = normalizeValue(value);
  return out;
}

function normalizeValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object') return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return value;
}
