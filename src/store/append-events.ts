import { sql } from 'kysely';
import { applyInPlace } from '../events/state-map.js';
import { notifyOnCommit, type Db } from './database.js';
import { eventsTargeting, getLoggedEvent, insertEvents, type LoggedEvent } from './event-log.js';
import { insertEventStates } from './state-groups.js';
import type { DagPlan, GroupRef } from './dag-plan.js';
import { isAccountRoom, projectEvent } from './projections/project-event.js';
import { memberValues } from './projections/guild-state-projection.js';
import { projectMessageEvent, projectMessages } from './projections/message-projection.js';
import { EventType, type MemberContent, type StoredEvent } from '../events/event-types.js';

/** The channel on which every append is announced (LISTEN/NOTIFY wakes log readers). */
export const LOG_NOTIFY_CHANNEL = 'nexus_log';

const EVENT_ROWS_PER_INSERT = 5000;

/** A room's head: the expected version for the next append, the DAG's tips, and the group of its current state. */
export interface RoomHead {
  roomId: string;
  version: number; // events appended to this room so far (0: the room does not exist yet)
  depth: number;
  extremities: string[];
  /** The state group of the current state; null for a new room. */
  stateGroup: { id: string; chain: number } | null;
}

/** Another writer appended to the room since its head was read: reload and retry. */
export class ConcurrencyError extends Error {
  constructor(roomId: string) {
    super(`room ${roomId} was appended to concurrently`);
  }
}

export async function loadRoomHead(db: Db, roomId: string): Promise<RoomHead> {
  const row = await db.selectFrom('rooms').leftJoin('state_groups', 'state_groups.id', 'rooms.state_group')
    .select(['rooms.version', 'rooms.depth', 'rooms.forward_extremities', 'rooms.state_group', 'state_groups.chain'])
    .where('rooms.room_id', '=', roomId).executeTakeFirst();
  if (!row) return { roomId, version: 0, depth: 0, extremities: [], stateGroup: null };
  const stateGroup = row.state_group === null ? null : { id: String(row.state_group), chain: Number(row.chain ?? 0) };
  return { roomId, version: Number(row.version), depth: Number(row.depth), extremities: row.forward_extremities, stateGroup };
}

/** Whether this server holds the room (has appended to it). */
export async function roomExists(db: Db, roomId: string): Promise<boolean> {
  return (await db.selectFrom('rooms').select('room_id').where('room_id', '=', roomId).executeTakeFirst()) !== undefined;
}

/** The head after appending `events` (already authorized, in order) to `head`. */
export function advanceHead(head: RoomHead, events: StoredEvent[], stateGroup: RoomHead['stateGroup'] = head.stateGroup): RoomHead {
  const referenced = new Set(events.flatMap((e) => e.pdu.prev_events));
  const tips = [...head.extremities, ...events.map((e) => e.event_id)].filter((id) => !referenced.has(id));
  return {
    roomId: head.roomId,
    version: head.version + events.length,
    depth: Math.max(head.depth, ...events.map((e) => e.pdu.depth)),
    extremities: [...new Set(tips)].sort(),
    stateGroup,
  };
}

/**
 * The one append path, for local and remote events alike: in one transaction, check the
 * room's expected version, write the log rows and the state groups the plan asks for,
 * project what the plan says into the views (advancing `state`, the room's current
 * state, in place), move the head, and notify log readers on commit. Authorization and
 * state resolution happen before this (see dag-plan.ts); this function only writes.
 */
export async function appendToRoom(
  db: Db,
  head: RoomHead,
  events: StoredEvent[],
  plan: DagPlan,
  state: Map<string, StoredEvent>,
  receivedTs: number | ((ev: StoredEvent) => number),
): Promise<{ logged: LoggedEvent[]; head: RoomHead; groups: Array<{ id: string; chain: number }> }> {
  return db.transaction().execute(async (trx) => {
    // A statement takes at most 65,535 parameters (9 per event row): a join's state of a
    // big guild is written in several inserts.
    const rows: LoggedEvent[] = [];
    for (let i = 0; i < events.length; i += EVENT_ROWS_PER_INSERT) rows.push(...(await insertEvents(trx, events.slice(i, i + EVENT_ROWS_PER_INSERT), receivedTs)));
    const written: Array<{ id: string; chain: number }> = [];
    const idOf = (ref: GroupRef): string => ('id' in ref ? ref.id : written[ref.index].id);
    for (const g of plan.groups) {
      const parent = g.parent === null ? null : idOf(g.parent);
      const row = await trx.insertInto('state_groups').values({ room_id: head.roomId, parent, chain: g.chain, delta: JSON.stringify(g.delta) })
        .returning('id').executeTakeFirstOrThrow();
      written.push({ id: String(row.id), chain: g.chain });
    }
    const inDag = rows.flatMap((r, i) => (plan.after[i]
      ? [{ event_id: r.event_id, room_id: head.roomId, state_group: idOf(plan.after[i]!), soft_failed: plan.softFailed[i], shown: plan.project[i].self, resolved: plan.project[i].slots !== undefined }]
      : []));
    await insertEventStates(trx, inDag);
    const current = 'id' in plan.current ? { id: plan.current.id, chain: plan.currentChain } : written[plan.current.index];
    // Outliers are stored (and their state projected) but are no tips of our DAG.
    const next = { ...advanceHead(head, events.filter((_, i) => plan.after[i] !== null), current), version: head.version + events.length };
    const lastPosition = rows[rows.length - 1].position;
    if (head.version === 0) {
      const inserted = await trx.insertInto('rooms')
        .values({ room_id: head.roomId, version: next.version, last_position: lastPosition, depth: next.depth, forward_extremities: JSON.stringify(next.extremities), state_group: current.id })
        .onConflict((oc) => oc.column('room_id').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) throw new ConcurrencyError(head.roomId);
    } else {
      const updated = await trx.updateTable('rooms')
        .set({ version: next.version, last_position: lastPosition, depth: next.depth, forward_extremities: JSON.stringify(next.extremities), state_group: current.id })
        .where('room_id', '=', head.roomId).where('version', '=', head.version).executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new ConcurrencyError(head.roomId);
    }
    await projectPlanned(trx, rows, plan, state);
    await notifyOnCommit(trx, LOG_NOTIFY_CHANNEL);
    return { logged: rows, head: next, groups: written };
  });
}

/** Projects the appended rows as the plan says, in order. */
async function projectPlanned(trx: Db, rows: LoggedEvent[], plan: DagPlan, state: Map<string, StoredEvent>): Promise<void> {
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  for (let i = 0; i < rows.length; ) {
    const step = plan.project[i];
    if (rows[i].pdu.type === EventType.Message && step.self) {
      // A run of messages changes no state: project it in one go.
      let j = i + 1;
      while (j < rows.length && rows[j].pdu.type === EventType.Message && plan.project[j].self) j++;
      await projectMessages(trx, rows.slice(i, j));
      // An edit or reaction that came before its message waits for it, and applies now, in
      // log order (replay-message-window.ts does the same). Only history fetched from a peer
      // (an outlier) can come after what applies to it: a DAG message precedes its edits.
      const history = rows.slice(i, j).filter((_, k) => plan.after[i + k] === null).map((r) => r.event_id);
      for (const ev of await eventsTargeting(trx, rows[i].pdu.room_id, history, rows[i].position)) await projectMessageEvent(trx, ev, state);
      i = j;
      continue;
    }
    if (isMemberRun(rows, plan, i, state) && isMemberRun(rows, plan, i + 1, state)) {
      // A run of member events (a join brings a guild's whole membership): the same rows as
      // projecting them one by one, in a few multi-row statements instead of four each.
      let j = i + 2;
      while (isMemberRun(rows, plan, j, state)) j++;
      await projectMembers(trx, rows.slice(i, j), state);
      i = j;
      continue;
    }
    if (step.self) {
      await projectEvent(trx, rows[i], state);
      applyInPlace(state, rows[i]);
    }
    // A fork resolved: the slots whose winner changed are projected from their winners.
    for (const id of step.slots ?? []) {
      const winner = byId.get(id) ?? (await getLoggedEvent(trx, id));
      if (!winner) continue;
      await projectEvent(trx, winner, state);
      applyInPlace(state, winner);
    }
    i++;
  }
}

/** Whether rows[i] is a guild member event projected as itself (and nothing else) by the plan. */
function isMemberRun(rows: LoggedEvent[], plan: DagPlan, i: number, state: Map<string, StoredEvent>): boolean {
  if (i >= rows.length) return false;
  const step = plan.project[i];
  return rows[i].pdu.type === EventType.Member && typeof rows[i].pdu.state_key === 'string' && step.self && !step.slots?.length && !isAccountRoom(rows[i].pdu, state);
}

/** projectEvent over a run of member events of one guild (see guild-state-projection.ts), batched. */
async function projectMembers(trx: Db, run: LoggedEvent[], state: Map<string, StoredEvent>): Promise<void> {
  const roomId = run[0].pdu.room_id;
  // Later events win their slot, as when applied one after another.
  const slots = new Map<string, { room_id: string; type: string; state_key: string; event_id: string }>();
  for (const ev of run) slots.set(ev.pdu.state_key!, { room_id: roomId, type: ev.pdu.type, state_key: ev.pdu.state_key!, event_id: ev.event_id });
  for (const chunk of slices([...slots.values()], 10_000)) {
    await trx.insertInto('room_state').values(chunk)
      .onConflict((oc) => oc.columns(['room_id', 'type', 'state_key']).doUpdateSet((eb) => ({ event_id: eb.ref('excluded.event_id') }))).execute();
  }
  const guildId = (await trx.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow()).id;
  // Each member's row before the run, then each event folded in order (a join keeps the first join's time).
  const before = new Map<string, { membership: string; joined_ts: number | string | null }>();
  for (const users of slices([...slots.keys()], 10_000)) {
    const found = await trx.selectFrom('members').select(['user_id', 'membership', 'joined_ts']).where('room_id', '=', roomId).where('user_id', 'in', users).execute();
    for (const r of found) before.set(r.user_id, { membership: r.membership, joined_ts: r.joined_ts });
  }
  const rows = new Map<string, { room_id: string; user_id: string; guild_id: string } & ReturnType<typeof memberValues>>();
  for (const ev of run) {
    const user = ev.pdu.state_key!;
    const values = memberValues(ev.pdu.content as unknown as MemberContent, before.get(user), ev.pdu.origin_server_ts);
    before.set(user, { membership: values.membership, joined_ts: values.joined_ts });
    rows.set(user, { room_id: roomId, user_id: user, guild_id: guildId, ...values });
    applyInPlace(state, ev);
  }
  for (const chunk of slices([...rows.values()], 5000)) {
    await trx.insertInto('members').values(chunk)
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doUpdateSet((eb) => ({
        membership: eb.ref('excluded.membership'), nick: eb.ref('excluded.nick'), roles: eb.ref('excluded.roles'), joined_ts: eb.ref('excluded.joined_ts'),
      }))).execute();
  }
}

function slices<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Loads a room's current state from the room_state projection. */
export async function loadRoomState(db: Db, roomId: string): Promise<Map<string, StoredEvent>> {
  const { rows } = await sql<{ event_id: string; pdu: string }>`
    SELECT e.event_id, e.pdu FROM room_state s JOIN events e ON e.event_id = s.event_id
    WHERE s.room_id = ${roomId}`.execute(db);
  const state = new Map<string, StoredEvent>();
  for (const row of rows) applyInPlace(state, { event_id: row.event_id, pdu: JSON.parse(row.pdu) });
  return state;
}
