import { EventType, type EditContent, type MessageContent, type PinContent, type ReactionContent, type RedactionContent } from '../../events/event-types.js';
import { mayApplyEdit, mayRedact } from '../../events/auth-rules.js';
import type { StateMap } from '../../events/state-map.js';
import { snowflakeFromLog } from '../../snowflake.js';
import type { Db } from '../database.js';
import type { LoggedEvent } from '../event-log.js';
import { editValues, messageRow } from './message-projection.js';
import type { ColumnTypes } from './replay-bulk-insert.js';
import { createFlushedRows, writePage, type PageWrites } from './replay-flushed-rows.js';
import { dbKey, isText, type ChannelRow } from './replay-state-views.js';

// The message views (messages, reactions) replayed for `nexus rebuild`, one page of the log
// at a time. New rows wait in memory (the window) and leave it, to be written in multi-row
// inserts, when a page ends, but for the most recent messages, kept for the next page.
// Edits, reactions, redactions and pins change a windowed row in memory, and a row that
// left the window through the copy of it in replay-flushed-rows.ts. Every row is in exactly
// one of the two places, so applying each event where its row is gives what
// projectMessageEvent (message-projection.ts) gives; this file mirrors it statement by
// statement, and test/store/rebuild.test.ts proves they agree.
//
// A reaction to a windowed message is itself windowed (it came later, and a reaction leaves
// the window with its message or before), so the duplicate check and the redaction of a
// windowed message never need the database.

type MessageRow = ReturnType<typeof messageRow>;
type ReactionRow = { event_id: string; message_id: string; emoji: string; user_id: string };

export function createMessageWindow(trx: Db, types: { messages: ColumnTypes; reactions: ColumnTypes }, channelOf: (roomId: string, channelKey: unknown) => ChannelRow | undefined) {
  const flushed = createFlushedRows(trx);
  // By event id.
  const messages = new Map<string, { row: MessageRow; ev: LoggedEvent }>();
  const reactions = new Map<string, { row: ReactionRow; ev: LoggedEvent; key: string }>();
  const reactionKeys = new Set<string>(); // dbKey(message id, emoji, user) of windowed reactions
  const reactionsByMessage = new Map<string, Set<string>>(); // message id → windowed reaction event ids
  const windowed = (eventId: unknown) => (isText(eventId) ? messages.get(eventId) : undefined);
  // Edits and reactions whose message is not here (yet): history fetched later brings it,
  // and they apply then, in log order, as projectPlanned does with eventsTargeting.
  // A waiting reaction that is redacted meanwhile waits no more.
  const waiting = new Map<string, LoggedEvent[]>();
  const waitingFor = new Map<string, { targetId: string; ev: LoggedEvent }>(); // by waiting event id
  const wait = (targetId: unknown, ev: LoggedEvent) => {
    if (!isText(targetId)) return;
    const list = waiting.get(targetId);
    if (list) list.push(ev);
    else waiting.set(targetId, [ev]);
    waitingFor.set(ev.event_id, { targetId, ev });
  };
  const unwait = (eventId: string) => {
    const targetId = waitingFor.get(eventId)?.targetId;
    if (targetId === undefined) return;
    waitingFor.delete(eventId);
    const rest = waiting.get(targetId)?.filter((e) => e.event_id !== eventId) ?? [];
    if (rest.length > 0) waiting.set(targetId, rest);
    else waiting.delete(targetId);
  };

  /** `history`: the message is an outlier (history fetched from a peer), which is the only kind edits and reactions can come before. */
  function message(ev: LoggedEvent, history = false): void {
    const c = ev.pdu.content as unknown as MessageContent;
    // Kept in its redacted form (content hash off, or served so: deleted): never shown,
    // as remote-plan.ts plans it.
    if (typeof c.body !== 'string') return;
    const channel = channelOf(ev.pdu.room_id, c.channel);
    if (!channel) return;
    const id = snowflakeFromLog(ev.received_ts, ev.position);
    messages.set(ev.event_id, { row: messageRow(ev, id, channel.id), ev });
    // Never backwards, as in projectMessages: history fetched later sorts before.
    if (channel.last_message_id === null || BigInt(id) > BigInt(channel.last_message_id)) channel.last_message_id = id;
    const early = waiting.get(ev.event_id);
    if (early) {
      waiting.delete(ev.event_id);
      for (const e of early) waitingFor.delete(e.event_id);
      if (history) for (const e of early) (e.pdu.type === EventType.Edit ? edit : reaction)(e);
    }
  }

  function edit(ev: LoggedEvent): void {
    const targetId = (ev.pdu.content as unknown as EditContent).target;
    const inWindow = windowed(targetId);
    const row = inWindow ? undefined : flushed.message(targetId);
    if (!inWindow && !row) return wait(targetId, ev);
    const target = inWindow?.ev ?? flushed.event(targetId);
    if (!target || !mayApplyEdit(ev, target)) return;
    if (inWindow) Object.assign(inWindow.row, editValues(ev));
    else flushed.edit(row!, editValues(ev));
  }

  function addReaction(ev: LoggedEvent, messageId: string, key: string): void {
    const c = ev.pdu.content as unknown as ReactionContent;
    reactions.set(ev.event_id, { row: { event_id: ev.event_id, message_id: messageId, emoji: c.emoji, user_id: ev.pdu.sender }, ev, key });
    reactionKeys.add(key);
    let ids = reactionsByMessage.get(messageId);
    if (!ids) reactionsByMessage.set(messageId, (ids = new Set()));
    ids.add(ev.event_id);
  }

  function reaction(ev: LoggedEvent): void {
    const { pdu } = ev;
    const c = pdu.content as unknown as ReactionContent;
    if (!isText(c.emoji)) return; // no row has emoji NULL, and inserting one would fail: auth forbids it
    const message = windowed(c.target)?.row ?? flushed.message(c.target);
    if (!message) return wait(c.target, ev);
    if (message.room_id !== pdu.room_id) return;
    // One reaction per (message, emoji, user): a duplicate is logged but changes nothing.
    const key = dbKey(message.id, c.emoji, pdu.sender);
    if (reactionKeys.has(key) || flushed.hasReaction(key)) return;
    addReaction(ev, message.id, key);
  }

  function dropWindowedReaction(eventId: string): void {
    const r = reactions.get(eventId);
    if (!r) return;
    reactions.delete(eventId);
    reactionKeys.delete(r.key);
    reactionsByMessage.get(r.row.message_id)?.delete(eventId);
  }

  function dropWindowedReactionsOf(messageId: string): void {
    for (const id of reactionsByMessage.get(messageId) ?? []) dropWindowedReaction(id);
    reactionsByMessage.delete(messageId);
  }

  function redaction(ev: LoggedEvent, stateBefore: StateMap): void {
    const { pdu } = ev;
    const redacts = (pdu.content as unknown as RedactionContent).redacts;
    const windowedMessage = windowed(redacts);
    const windowedReaction = isText(redacts) ? reactions.get(redacts) : undefined;
    const waitingReaction = isText(redacts) ? waitingFor.get(redacts)?.ev : undefined;
    const target = windowedMessage?.ev ?? windowedReaction?.ev ?? waitingReaction ?? flushed.event(redacts);
    if (!target || target.pdu.room_id !== pdu.room_id || !mayRedact(ev, target, stateBefore)) return;
    if (target.pdu.type === EventType.Message) {
      if (windowedMessage) {
        dropWindowedReactionsOf(windowedMessage.row.id);
        messages.delete(redacts);
        return;
      }
      const row = flushed.message(redacts);
      if (!row) return;
      dropWindowedReactionsOf(row.id);
      flushed.deleteMessage(row);
    } else if (target.pdu.type === EventType.Reaction) {
      if (windowedReaction) dropWindowedReaction(redacts);
      else if (waitingReaction) unwait(redacts);
      else flushed.deleteReaction(redacts);
    }
  }

  /** The message half of a pin (room_state is the state views' half). */
  function pin(ev: LoggedEvent): void {
    const { pdu } = ev;
    const pinned = (pdu.content as unknown as PinContent).pinned === true;
    const inWindow = windowed(pdu.state_key);
    if (inWindow) {
      if (inWindow.row.room_id === pdu.room_id) inWindow.row.pinned = pinned;
      return;
    }
    const row = flushed.message(pdu.state_key);
    if (row && row.room_id === pdu.room_id) flushed.pin(row, pinned);
  }

  /** Starts page `n`: fetches what its events need of rows already written (windowed targets need nothing). */
  function load(n: number, page: readonly LoggedEvent[]): Promise<void> {
    return flushed.load(n, page, (id) => messages.has(id) || reactions.has(id));
  }

  /**
   * Ends a page: the window's rows leave it but for the newest `keep` messages and their
   * reactions, which stay in memory for the next page (the usual targets of edits,
   * reactions and deletes are recent messages). Returns the page's writes, for `write`.
   */
  function endPage(keep: number): PageWrites {
    const leaving: MessageRow[] = [];
    let excess = messages.size - keep;
    for (const [id, m] of messages) {
      if (excess-- <= 0) break;
      leaving.push(m.row);
      messages.delete(id);
    }
    // A reaction leaves with its message, or at once if its message left before.
    const staying = new Set<string>();
    for (const m of messages.values()) staying.add(m.row.id);
    const leavingReactions: ReactionRow[] = [];
    for (const [id, r] of reactions) {
      if (staying.has(r.row.message_id)) continue;
      leavingReactions.push(r.row);
      dropWindowedReaction(id);
    }
    flushed.adopt(leaving, leavingReactions);
    return flushed.endPage();
  }

  const write = (w: PageWrites) => writePage(trx, types, w);

  return { load, message, edit, reaction, redaction, pin, endPage, write };
}

export type MessageWindow = ReturnType<typeof createMessageWindow>;
