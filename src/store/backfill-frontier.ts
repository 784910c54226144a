import type { Db } from './database.js';

// The backfill frontiers of guilds (migrations 005 and 006): the ids of events this server
// lacks that are prev_events of history it holds, where the next backfill starts. Rows
// come in segments: the history before a join (placed before everything held), and each
// gap a catch-up could not fetch in the DAG (placed before `before`, a time of the log:
// the event after the gap, then the oldest history fetched for it so far). A guild with no
// row has nothing to fetch.

export interface FrontierSegment {
  /** A gap's time to place before, or null for the history before a join. */
  before: number | null;
  eventIds: string[];
}

const ID_CHUNK = 500;

export async function readSegments(db: Db, roomId: string): Promise<FrontierSegment[]> {
  const rows = await db.selectFrom('backfill_frontier').select(['event_id', 'before_ts']).where('room_id', '=', roomId).orderBy('event_id').execute();
  const byKey = new Map<number | null, FrontierSegment>();
  for (const r of rows) {
    const before = r.before_ts === null ? null : Number(r.before_ts);
    let seg = byKey.get(before);
    if (!seg) byKey.set(before, (seg = { before, eventIds: [] }));
    seg.eventIds.push(r.event_id);
  }
  return [...byKey.values()];
}

/** The rooms with a gap left to fetch. */
export async function roomsWithGaps(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('backfill_frontier').select('room_id').distinct().where('before_ts', 'is not', null).execute();
  return rows.map((r) => r.room_id);
}

/** Replaces one segment of a guild's frontier (in one transaction); a gap's `before` moves down as its history is fetched. */
export async function replaceSegment(db: Db, roomId: string, before: number | null, eventIds: readonly string[], nextBefore: number | null = before): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const q = trx.deleteFrom('backfill_frontier').where('room_id', '=', roomId);
    await (before === null ? q.where('before_ts', 'is', null) : q.where('before_ts', '=', before)).execute();
    await extendSegment(trx, roomId, nextBefore, eventIds);
  });
}

/** Adds to a segment (a join: the history before it; a gap: the event the DAG lacks). */
export async function extendSegment(db: Db, roomId: string, before: number | null, eventIds: readonly string[]): Promise<void> {
  for (let i = 0; i < eventIds.length; i += ID_CHUNK) {
    await db.insertInto('backfill_frontier')
      .values(eventIds.slice(i, i + ID_CHUNK).map((event_id) => ({ room_id: roomId, event_id, before_ts: before })))
      .onConflict((oc) => oc.columns(['room_id', 'event_id']).doNothing()).execute();
  }
}

/** Those of `eventIds` that are in this server's DAG (they have a known state). */
export async function inDag(db: Db, eventIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < eventIds.length; i += ID_CHUNK) {
    const rows = await db.selectFrom('event_state').select('event_id').where('event_id', 'in', eventIds.slice(i, i + ID_CHUNK)).execute();
    for (const r of rows) out.add(r.event_id);
  }
  return out;
}

/** Whether this server held the guild's DAG before `eventId` (a rejoin, not a first join). */
export async function heldBefore(db: Db, roomId: string, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('event_state').select('event_id').where('room_id', '=', roomId).where('event_id', '<>', eventId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** The ids in a guild's frontier, all segments (for tests and status). */
export async function readFrontier(db: Db, roomId: string): Promise<string[]> {
  return (await readSegments(db, roomId)).flatMap((s) => s.eventIds).sort();
}
