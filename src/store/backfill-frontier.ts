import type { Db } from './database.js';

// The backfill frontier of a guild joined from another server: the ids of the events just
// before the oldest history held here, where the next backfill starts (migration
// 005-backfill-frontier). No rows: nothing older to fetch.

export async function readFrontier(db: Db, roomId: string): Promise<string[]> {
  const rows = await db.selectFrom('backfill_frontier').select('event_id').where('room_id', '=', roomId).orderBy('event_id').execute();
  return rows.map((r) => r.event_id);
}

/** Replaces a guild's frontier (in one transaction, so a reader sees the old or the new one). */
export async function replaceFrontier(db: Db, roomId: string, eventIds: readonly string[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('backfill_frontier').where('room_id', '=', roomId).execute();
    if (eventIds.length > 0) await trx.insertInto('backfill_frontier').values(eventIds.map((event_id) => ({ room_id: roomId, event_id }))).execute();
  });
}

/** Adds to a guild's frontier (a join: the history before it is missing). */
export async function extendFrontier(db: Db, roomId: string, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db.insertInto('backfill_frontier').values(eventIds.map((event_id) => ({ room_id: roomId, event_id })))
    .onConflict((oc) => oc.columns(['room_id', 'event_id']).doNothing()).execute();
}

/** Those of `eventIds` that are in this server's log. */
export async function inLog(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < eventIds.length; i += 500) {
    const rows = await db.selectFrom('events').select('event_id').where('event_id', 'in', eventIds.slice(i, i + 500)).execute();
    for (const r of rows) out.add(r.event_id);
  }
  return out;
}

/** Those of `eventIds` that are in this server's DAG (they have a known state). */
export async function inDag(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < eventIds.length; i += 500) {
    const rows = await db.selectFrom('event_state').select('event_id').where('event_id', 'in', eventIds.slice(i, i + 500)).execute();
    for (const r of rows) out.add(r.event_id);
  }
  return out;
}
