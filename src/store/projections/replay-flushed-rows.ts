import { sql } from 'kysely';
import { EventType, type Pdu } from '../../events/event-types.js';
import type { Db } from '../database.js';
import type { LoggedEvent } from '../event-log.js';
import type { editValues } from './message-projection.js';
import { bulkInsert, bulkUpdate, type ColumnTypes } from './replay-bulk-insert.js';
import { dbKey } from './replay-state-views.js';

// Rows of messages / reactions that have left the rebuild's in-memory window ("flushed"),
// as the current page may read or change them: a copy, authoritative over the database
// for every row it holds.
//
// The rebuild writes a page's changes while it projects the next page (two cores at work on
// Postgres), so when a page starts, the database lacks the previous page's changes. This
// copy therefore keeps every row the previous page created or changed (tagged with the page
// that last touched it) and fetches from the database only rows it does not hold, which the
// database has right: the writes before the previous page's are done by then (one
// connection executes statements in order, and the rebuild waits for each page's writes
// before it reads for the page after next). A message is dropped only together with all its
// reactions, so a message held here always comes with its full set of reactions.

export interface FlushedMessage {
  eventId: string;
  id: string;
  room_id: string;
  deleted: boolean;
  page: number; // the last page that created, fetched or changed it (or one of its reactions)
}

interface FlushedReaction {
  message_id: string;
  key: string; // dbKey(message id, emoji, user)
  deleted: boolean;
  page: number;
}

type Edit = ReturnType<typeof editValues>;
type Row = Record<string, unknown>;

/** One page's writes, issued once the next page has read what it needs. */
export interface PageWrites {
  edits: Map<string, Edit>; // message id → the last edit's values
  pins: Map<string, boolean>; // message id → pinned
  deletedMessages: Set<string>; // message ids
  deletedReactions: Set<string>; // reaction event ids
  messages: Row[]; // new rows
  reactions: Row[];
}

const emptyWrites = (): PageWrites => ({ edits: new Map(), pins: new Map(), deletedMessages: new Set(), deletedReactions: new Set(), messages: [], reactions: [] });

export function createFlushedRows(trx: Db) {
  let page = 0;
  let events = new Map<string, LoggedEvent>(); // what getLoggedEvent gives for this page's targets
  const messages = new Map<string, FlushedMessage>(); // by event id
  const byId = new Map<string, FlushedMessage>(); // by message id
  const reactions = new Map<string, FlushedReaction>(); // by event id
  const reactionsOf = new Map<string, Set<string>>(); // message id → reaction event ids held
  const liveKeys = new Map<string, number>(); // reaction key → held reactions not deleted
  let writes = emptyWrites();

  function touch(m: FlushedMessage | undefined): void {
    if (m) m.page = page;
  }

  function holdMessage(eventId: string, id: string, roomId: string): void {
    if (messages.has(eventId)) return; // what is held is newer than the database
    const m: FlushedMessage = { eventId, id, room_id: roomId, deleted: false, page };
    messages.set(eventId, m);
    byId.set(id, m);
  }

  function holdReaction(eventId: string, messageId: string, emoji: string, userId: string): void {
    if (reactions.has(eventId)) return;
    const key = dbKey(messageId, emoji, userId);
    reactions.set(eventId, { message_id: messageId, key, deleted: false, page });
    liveKeys.set(key, (liveKeys.get(key) ?? 0) + 1);
    let ids = reactionsOf.get(messageId);
    if (!ids) reactionsOf.set(messageId, (ids = new Set()));
    ids.add(eventId);
    touch(byId.get(messageId));
  }

  function dropReaction(eventId: string): void {
    const r = reactions.get(eventId)!;
    reactions.delete(eventId);
    if (!r.deleted) liveKeys.set(r.key, liveKeys.get(r.key)! - 1);
    reactionsOf.get(r.message_id)?.delete(eventId);
  }

  /**
   * Starts page `n` and fetches the rows its events name that are neither held here nor
   * `inMemory` (the window) nor events of the page itself: a row for one of those is created
   * in this page, so an event after it finds it in memory, and an event before it (or one
   * never projected) finds no row, live or here, so nothing happens.
   */
  async function load(n: number, pageEvents: readonly LoggedEvent[], inMemory: (eventId: string) => boolean): Promise<void> {
    page = n;
    events = new Map();
    const ofPage = new Set(pageEvents.map((e) => e.event_id));
    const rows = new Set<string>(); // targets whose row is fetched
    const logged = new Set<string>(); // targets whose logged event is read (edits, redactions)
    for (const { pdu } of pageEvents) {
      const c = pdu.content ?? {};
      const isState = typeof pdu.state_key === 'string';
      const target = isState
        ? pdu.type === EventType.Pin ? pdu.state_key : undefined
        : pdu.type === EventType.Reaction || pdu.type === EventType.Edit ? c.target
          : pdu.type === EventType.Redaction ? c.redacts : undefined;
      if (typeof target !== 'string' || inMemory(target) || ofPage.has(target)) continue;
      if (!isState && (pdu.type === EventType.Edit || pdu.type === EventType.Redaction)) logged.add(target);
      if (!messages.has(target) && !reactions.has(target)) rows.add(target);
    }
    if (logged.size > 0) {
      const found = await sql<{ event_id: string; position: string; received_ts: string; pdu: string }>`
        SELECT event_id, position, received_ts, pdu FROM events
        WHERE event_id IN (SELECT json_array_elements_text(${JSON.stringify([...logged])}::json))`.execute(trx);
      for (const r of found.rows) events.set(r.event_id, { event_id: r.event_id, pdu: JSON.parse(r.pdu) as Pdu, position: String(r.position), received_ts: Number(r.received_ts) });
    }
    if (rows.size === 0) return;
    const targets = sql`(SELECT json_array_elements_text(${JSON.stringify([...rows])}::json))`;
    const found = await sql<{ event_id: string; id: string; room_id: string }>`
      SELECT event_id, id::text AS id, room_id FROM messages WHERE event_id IN ${targets}`.execute(trx);
    for (const r of found.rows) holdMessage(r.event_id, r.id, r.room_id);
    // Every reaction of a fetched message (so its set is complete), and reactions named directly.
    const their = await sql<{ event_id: string; message_id: string; emoji: string; user_id: string }>`
      SELECT event_id, message_id::text AS message_id, emoji, user_id FROM reactions
      WHERE message_id IN (SELECT id FROM messages WHERE event_id IN ${targets})
      UNION SELECT event_id, message_id::text, emoji, user_id FROM reactions WHERE event_id IN ${targets}`.execute(trx);
    for (const r of their.rows) holdReaction(r.event_id, r.message_id, r.emoji, r.user_id);
  }

  function deleteReaction(eventId: string): void {
    const r = reactions.get(eventId);
    if (!r || r.deleted) return;
    r.deleted = true;
    r.page = page;
    liveKeys.set(r.key, liveKeys.get(r.key)! - 1);
    touch(byId.get(r.message_id));
    writes.deletedReactions.add(eventId);
  }

  return {
    load,
    /** getLoggedEvent for an edit's or a redaction's target. */
    event: (eventId: unknown) => (typeof eventId === 'string' ? events.get(eventId) : undefined),
    /** The messages row with this event id, if it exists (not deleted). */
    message(eventId: unknown): FlushedMessage | undefined {
      const m = typeof eventId === 'string' ? messages.get(eventId) : undefined;
      return m && !m.deleted ? m : undefined;
    },
    hasReaction: (key: string) => (liveKeys.get(key) ?? 0) > 0,
    edit(m: FlushedMessage, values: Edit): void {
      touch(m);
      writes.edits.set(m.id, values);
    },
    pin(m: FlushedMessage, pinned: boolean): void {
      touch(m);
      writes.pins.set(m.id, pinned);
    },
    deleteReaction,
    /** Deletes the message and its reactions (DELETE FROM reactions WHERE message_id = …). */
    deleteMessage(m: FlushedMessage): void {
      m.deleted = true;
      touch(m);
      writes.deletedMessages.add(m.id);
      for (const id of reactionsOf.get(m.id) ?? []) deleteReaction(id);
    },
    /** Takes over rows leaving the window: they are written with this page's writes. */
    adopt(newMessages: ReadonlyArray<{ event_id: string; id: string; room_id: string } & Row>, newReactions: ReadonlyArray<ReactionRowLike>): void {
      for (const m of newMessages) {
        holdMessage(m.event_id, m.id, m.room_id);
        writes.messages.push(m);
      }
      for (const r of newReactions) {
        holdReaction(r.event_id, r.message_id, r.emoji, r.user_id);
        writes.reactions.push(r);
      }
    },
    /**
     * Ends the page: hands over its writes, and forgets rows the page did not touch (their
     * writes will be done before the page after next reads anything).
     */
    endPage(): PageWrites {
      const done = writes;
      writes = emptyWrites();
      for (const m of messages.values()) {
        if (m.page >= page) continue;
        messages.delete(m.eventId);
        byId.delete(m.id);
        for (const id of reactionsOf.get(m.id) ?? []) dropReaction(id);
        reactionsOf.delete(m.id);
      }
      for (const [id, r] of reactions) if (r.page < page && !byId.has(r.message_id)) dropReaction(id);
      return done;
    },
  };
}

type ReactionRowLike = { event_id: string; message_id: string; emoji: string; user_id: string } & Row;

export type FlushedRows = ReturnType<typeof createFlushedRows>;

/** Applies one page's writes (changes to rows already written first, then the new rows). */
export async function writePage(trx: Db, types: { messages: ColumnTypes; reactions: ColumnTypes }, w: PageWrites): Promise<void> {
  const live = (id: string) => !w.deletedMessages.has(id);
  await bulkUpdate(trx, 'messages', types.messages, 'id', [...w.edits].filter(([id]) => live(id)).map(([id, values]) => ({ id, ...values })));
  await bulkUpdate(trx, 'messages', types.messages, 'id', [...w.pins].filter(([id]) => live(id)).map(([id, pinned]) => ({ id, pinned })));
  if (w.deletedReactions.size > 0) await sql`DELETE FROM reactions WHERE event_id IN (SELECT json_array_elements_text(${JSON.stringify([...w.deletedReactions])}::json))`.execute(trx);
  if (w.deletedMessages.size > 0) await sql`DELETE FROM messages WHERE id IN (SELECT json_array_elements_text(${JSON.stringify([...w.deletedMessages])}::json)::bigint)`.execute(trx);
  await bulkInsert(trx, 'messages', types.messages, w.messages);
  await bulkInsert(trx, 'reactions', types.reactions, w.reactions);
}
