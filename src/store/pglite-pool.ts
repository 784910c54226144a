import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Presents one PGlite instance to Kysely's PostgresDialect as a pool of one connection.
 * PGlite has a single session, so a connection is lent to one holder at a time: without
 * this, two Kysely transactions would interleave their statements inside one BEGIN.
 */
export function pglitePool(pg: PGlite): PostgresPool {
  let busy = false;
  const waiting: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy = false;
  };

  const client: PostgresPoolClient = {
    async query<R>(sqlText: unknown, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
      const result = await pg.query<R>(sqlText as string, parameters as unknown[]);
      return {
        command: commandOf(sqlText as string),
        rowCount: result.affectedRows ?? result.rows.length,
        rows: result.rows,
      };
    },
    release,
  } as PostgresPoolClient;

  return {
    async connect() {
      if (busy) await new Promise<void>((resolve) => waiting.push(resolve));
      busy = true;
      return client;
    },
    async end() {
      await pg.close();
    },
  };
}

function commandOf(sqlText: string): PostgresQueryResult<unknown>['command'] {
  const word = /^\s*(?:with\b[\s\S]*?\)\s*)?(\w+)/i.exec(sqlText)?.[1]?.toUpperCase();
  if (word === 'INSERT' || word === 'UPDATE' || word === 'DELETE' || word === 'MERGE') return word;
  return 'SELECT';
}
