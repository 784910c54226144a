import type { Db } from './database.js';
import { splitStateMapKey, stateMapKey } from '../events/state-map.js';

// The state of a guild after each of its events, kept as *state groups*: every event that
// leaves the state as it was (a message) shares its prev's group, and a group is stored as
// a delta over a parent, with a full snapshot every MAX_CHAIN deltas so that loading a
// group never walks far. (Synapse's state groups, with its delta chains.)

/** Slots → event ids. */
export type StateIds = ReadonlyMap<string, string>;

/** Past this many deltas a new group is written in full (bounded load cost). */
export const MAX_CHAIN = 50;

export interface GroupRow {
  id: string;
  parent: string | null;
  chain: number;
  delta: Array<[string, string, string]>;
}

/** Writes a group and returns its id. `parent` null: `state` is the whole state. */
export async function insertStateGroup(trx: Db, roomId: string, parent: { id: string; chain: number; state: StateIds } | null, state: StateIds): Promise<{ id: string; chain: number }> {
  const full = parent === null || parent.chain + 1 >= MAX_CHAIN;
  const delta: Array<[string, string, string]> = [];
  for (const [key, id] of state) {
    if (full || parent!.state.get(key) !== id) {
      const { type, stateKey } = splitStateMapKey(key);
      delta.push([type, stateKey, id]);
    }
  }
  // A slot can't leave the state (resolution only picks among candidates), so a delta
  // only ever sets slots; a parent's slot missing from `state` would be a bug upstream.
  const chain = full ? 0 : parent!.chain + 1;
  const row = await trx.insertInto('state_groups')
    .values({ room_id: roomId, parent: full ? null : parent!.id, chain, delta: JSON.stringify(delta) })
    .returning('id').executeTakeFirstOrThrow();
  return { id: String(row.id), chain };
}

/** The rows from `id` down to its snapshot, nearest first. */
export async function loadGroupChain(db: Db, id: string): Promise<GroupRow[]> {
  const rows: GroupRow[] = [];
  let next: string | null = id;
  while (next !== null) {
    const row = await db.selectFrom('state_groups').select(['id', 'parent', 'chain', 'delta']).where('id', '=', next).executeTakeFirst();
    if (!row) throw new Error(`state group ${next} is missing`);
    rows.push({ id: String(row.id), parent: row.parent === null ? null : String(row.parent), chain: row.chain, delta: row.delta });
    next = rows[rows.length - 1].parent;
  }
  return rows;
}

/** Applies a chain (as loadGroupChain returns it) onto `base` (the state of the chain's end's parent). */
export function applyChain(rows: GroupRow[], base?: StateIds): Map<string, string> {
  const state = new Map(base ?? []);
  for (let i = rows.length - 1; i >= 0; i--) for (const [type, key, id] of rows[i].delta) state.set(stateMapKey(type, key), id);
  return state;
}

/** Ids per `IN (...)` list and rows per multi-row insert: a statement takes at most 65,535
 *  parameters, and a join brings the whole state of a guild (tens of thousands of events). */
const CHUNK = 10_000;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface EventStateRow {
  event_id: string;
  room_id: string;
  state_group: string;
  soft_failed: boolean;
  /** The event itself is in the views (migration 009). */
  shown: boolean;
  /** The current state after it is a resolution's (migration 009). */
  resolved: boolean;
}

export async function insertEventStates(trx: Db, rows: EventStateRow[]): Promise<void> {
  for (const chunk of chunks(rows)) await trx.insertInto('event_state').values(chunk).onConflict((oc) => oc.column('event_id').doNothing()).execute();
}

/** The group after each of `eventIds` whose state is known (outliers and unknown ids are absent). */
export async function eventStateGroups(db: Db, eventIds: readonly string[]): Promise<Map<string, { group: string; softFailed: boolean }>> {
  const out = new Map<string, { group: string; softFailed: boolean }>();
  for (const ids of chunks(eventIds)) {
    const rows = await db.selectFrom('event_state').select(['event_id', 'state_group', 'soft_failed']).where('event_id', 'in', ids).execute();
    for (const r of rows) out.set(r.event_id, { group: String(r.state_group), softFailed: r.soft_failed });
  }
  return out;
}

export interface Rejection {
  reason: string;
  /** The rejected event's prev_events: the state after it is the state before it. Absent on old rows. */
  prevEvents?: string[];
}

/** The rejections remembered for those of `eventIds` that peers sent and the auth rules refused. */
export async function rejectedEvents(db: Db, eventIds: readonly string[]): Promise<Map<string, Rejection>> {
  const out = new Map<string, Rejection>();
  for (const ids of chunks(eventIds)) {
    const rows = await db.selectFrom('rejected_events').select(['event_id', 'reason', 'prev_events']).where('event_id', 'in', ids).execute();
    for (const r of rows) out.set(r.event_id, r.prev_events === null ? { reason: r.reason } : { reason: r.reason, prevEvents: JSON.parse(r.prev_events) as string[] });
  }
  return out;
}

export async function recordRejections(trx: Db, rows: Array<{ event_id: string; room_id: string; reason: string; prev_events: string[] }>, receivedTs: number): Promise<void> {
  for (const chunk of chunks(rows)) {
    await trx.insertInto('rejected_events').values(chunk.map((r) => ({ ...r, prev_events: JSON.stringify(r.prev_events), received_ts: receivedTs })))
      .onConflict((oc) => oc.column('event_id').doNothing()).execute();
  }
}
