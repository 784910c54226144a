import { EventType, type StoredEvent } from '../../events/event-types.js';
import { applyInPlace } from '../../events/state-map.js';
import { advanceHead, type RoomHead } from '../append-events.js';
import type { Db } from '../database.js';
import type { LoggedEvent } from '../event-log.js';
import { bulkInsert, columnTypes, type ColumnTypes } from './replay-bulk-insert.js';
import type { PageWrites } from './replay-flushed-rows.js';
import { createMessageWindow } from './replay-message-window.js';
import { createStateViews } from './replay-state-views.js';

/**
 * The batched variant of projectEvent, for `nexus rebuild` on empty projection tables: it
 * replays the log in position order, one page at a time, keeping the state-shaped views and
 * each room's state in memory and recent message rows in a window, so that projecting an
 * event costs no SQL at all: a page costs a few queries before (loadPage) and a few
 * multi-row statements after (endPage, write). Same results as projectEvent
 * (project-event.ts) applied event by event.
 */
export async function createReplayProjector(trx: Db, opts: { keepMessages: number; softFailed?: ReadonlySet<string>; outliers?: ReadonlySet<string> }) {
  const outliers = opts.outliers ?? new Set<string>();
  const types = new Map<string, ColumnTypes>();
  for (const table of ['rooms', 'room_state', 'guilds', 'channels', 'roles', 'members', 'overwrites', 'messages', 'reactions', 'read_states']) {
    types.set(table, await columnTypes(trx, table));
  }
  const stateViews = createStateViews();
  const window = createMessageWindow(trx, { messages: types.get('messages')!, reactions: types.get('reactions')! }, stateViews.channel);
  const rooms = new Map<string, RoomReplay>();

  /** Starts page `n` (1, 2, …): reads what its events need from rows earlier pages wrote. */
  function loadPage(n: number, page: readonly LoggedEvent[]): Promise<void> {
    return window.load(n, page);
  }

  /** Projects one event of the loaded page (given with the id of the transaction that appended it). */
  function project(ev: LoggedEvent, txid: string): void {
    const { pdu } = ev;
    let found = rooms.get(pdu.room_id);
    if (!found) rooms.set(pdu.room_id, (found = { head: { roomId: pdu.room_id, version: 0, depth: 0, extremities: [], stateGroup: null }, lastPosition: ev.position, txid, batch: [], state: new Map() }));
    const room = found;
    noteAppend(room, ev, txid, outliers);
    // A soft-failed event is in the DAG but was never shown (remote-plan.ts).
    if (opts.softFailed?.has(ev.event_id)) return;
    // The event joins the room's state after it is projected, as in appendToRoom: its
    // projection sees the state before it.
    projectOne(ev, room.state);
    applyInPlace(room.state, ev);
  }

  // The dispatch of projectEvent (project-event.ts).
  function projectOne(ev: LoggedEvent, stateBefore: ReadonlyMap<string, StoredEvent>): void {
    if (typeof ev.pdu.state_key === 'string') {
      stateViews.apply(ev);
      if (ev.pdu.type === EventType.Pin) window.pin(ev);
      return;
    }
    switch (ev.pdu.type) {
      case EventType.Message:
        return window.message(ev, outliers.has(ev.event_id));
      case EventType.Edit:
        return window.edit(ev);
      case EventType.Reaction:
        return window.reaction(ev);
      case EventType.Redaction:
        return window.redaction(ev, stateBefore);
    }
  }

  /** Ends the page: returns its message and reaction writes, to pass to `write` after the next loadPage. */
  function endPage(): PageWrites {
    return window.endPage(opts.keepMessages);
  }

  /**
   * Writes everything still in memory, once the last page's writes are done: the window,
   * room heads and the state-shaped views.
   */
  async function finish(): Promise<void> {
    await window.write(window.endPage(0));
    const heads: Array<Record<string, unknown>> = [];
    for (const room of rooms.values()) {
      closeBatch(room, outliers);
      const { head } = room;
      heads.push({ room_id: head.roomId, version: head.version, last_position: room.lastPosition, depth: head.depth, forward_extremities: JSON.stringify(head.extremities) });
    }
    await bulkInsert(trx, 'rooms', types.get('rooms')!, heads);
    for (const [table, rows] of stateViews.tables()) await bulkInsert(trx, table, types.get(table)!, rows);
  }

  return { loadPage, project, endPage, write: window.write, finish };
}

export type ReplayProjector = Awaited<ReturnType<typeof createReplayProjector>>;

interface RoomReplay {
  head: RoomHead;
  lastPosition: string;
  /** The transaction whose events `batch` holds. */
  txid: string;
  batch: StoredEvent[];
  state: Map<string, StoredEvent>;
}

// appendToRoom moves a room's head once per append, with advanceHead over the whole batch.
// The events one transaction appended to a room are one such batch, so the replay groups
// them by transaction id and calls advanceHead the same way: an event that names a later
// event of its own batch as a prev_event then leaves the same forward extremities as live.
function noteAppend(room: RoomReplay, ev: LoggedEvent, txid: string, outliers: ReadonlySet<string>): void {
  if (room.txid !== txid) {
    closeBatch(room, outliers);
    room.txid = txid;
  }
  room.batch.push(ev);
  room.lastPosition = ev.position;
}

/** As appendToRoom moves the head: outliers count in the version but are no tips of the DAG. */
function closeBatch(room: RoomReplay, outliers: ReadonlySet<string>): void {
  if (room.batch.length === 0) return;
  room.head = { ...advanceHead(room.head, room.batch.filter((e) => !outliers.has(e.event_id))), version: room.head.version + room.batch.length };
  room.batch = [];
}
