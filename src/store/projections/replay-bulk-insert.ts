import { sql } from 'kysely';
import type { Db } from '../database.js';

// Multi-row inserts for the rebuild: a whole chunk of rows travels as ONE json parameter and
// is unpacked by json_to_recordset. That is ~1.5× faster than a VALUES list of bound
// parameters (fewer parameters to bind and parse, on pg and on PGlite alike) and has no
// 65,535-parameter limit.
//
// The values must land exactly as the live path's bound parameters land. Strings, numbers,
// booleans and null convert the same way from a JSON field as from a bound parameter (the
// log holds no lone surrogates, which the two would treat differently: canonicalJson
// refuses them). jsonb columns: the live path binds JSON *text* that Postgres parses as
// jsonb; here the field is declared text in the record and cast with ::jsonb, the same.

const CHUNK_ROWS = 5000;

export type ColumnTypes = ReadonlyMap<string, string>;

/** The column types of `table`, from the catalog (so this file repeats no schema). */
export async function columnTypes(db: Db, table: string): Promise<ColumnTypes> {
  const { rows } = await sql<{ name: string; type: string }>`
    SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
    WHERE attrelid = ${table}::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`.execute(db);
  return new Map(rows.map((r) => [r.name, r.type]));
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Inserts `rows` (all with the same keys, every value JSON-serialisable) into `table`. */
export async function bulkInsert(db: Db, table: string, types: ColumnTypes, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const defs: string[] = [];
  const select: string[] = [];
  for (const column of columns) {
    const type = types.get(column);
    if (!type) throw new Error(`rebuild: ${table} has no column ${column}`);
    const json = type === 'jsonb' || type === 'json';
    defs.push(`${quote(column)} ${json ? 'text' : type}`);
    select.push(json ? `x.${quote(column)}::${type}` : `x.${quote(column)}`);
  }
  const head = sql.raw(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) SELECT ${select.join(', ')} FROM json_to_recordset(`);
  const tail = sql.raw(`::json) AS x(${defs.join(', ')})`);
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    await sql`${head}${JSON.stringify(rows.slice(i, i + CHUNK_ROWS))}${tail}`.execute(db);
  }
}

/** Sets columns of existing rows, matched on `key`: `rows` carry the key and the new values. */
export async function bulkUpdate(db: Db, table: string, types: ColumnTypes, key: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const defs: string[] = [];
  const set: string[] = [];
  for (const column of columns) {
    const type = types.get(column);
    if (!type) throw new Error(`rebuild: ${table} has no column ${column}`);
    const json = type === 'jsonb' || type === 'json';
    defs.push(`${quote(column)} ${json ? 'text' : type}`);
    if (column !== key) set.push(`${quote(column)} = x.${quote(column)}${json ? `::${type}` : ''}`);
  }
  const head = sql.raw(`UPDATE ${quote(table)} AS t SET ${set.join(', ')} FROM json_to_recordset(`);
  const tail = sql.raw(`::json) AS x(${defs.join(', ')}) WHERE t.${quote(key)} = x.${quote(key)}`);
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    await sql`${head}${JSON.stringify(rows.slice(i, i + CHUNK_ROWS))}${tail}`.execute(db);
  }
}
