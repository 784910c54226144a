import pg from 'pg';

// Drops the per-test databases that test/helpers/databases.ts created on DATABASE_URL.
export default async function globalTeardown(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) return;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'nexus\\_test\\_%'");
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
