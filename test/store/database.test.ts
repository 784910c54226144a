import { sql } from 'kysely';
import { openDatabase } from '../../src/store/database.js';
import { testDatabaseOptions } from '../helpers/databases.js';

describe.each(testDatabaseOptions())('database on $name', ({ options }) => {
  it('migrates, returns int8 as strings, and keeps transactions apart', async () => {
    const opened = await openDatabase(await options());
    try {
      const { db } = opened;
      const r = await sql<{ big: string }>`SELECT 9007199254740993::int8 AS big`.execute(db);
      expect(r.rows[0].big).toBe('9007199254740993');
      // Two concurrent transactions must not see each other's uncommitted rows.
      await Promise.all([1, 2].map((n) =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('projection_checkpoints').values({ name: `t${n}`, position: n }).execute();
          const rows = await trx.selectFrom('projection_checkpoints').selectAll().execute();
          expect(rows.map((x) => x.name)).toEqual([`t${n}`]);
          if (n === 1) throw new Error('roll back');
        }).catch((e) => expect(String(e)).toContain('roll back')),
      ));
      const rows = await db.selectFrom('projection_checkpoints').select('name').execute();
      expect(rows.map((x) => x.name)).toEqual(['t2']);
    } finally {
      await opened.close();
    }
  });
});
