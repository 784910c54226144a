import { EventType, type EditContent, type MessageContent, type ReactionContent, type RedactionContent } from '../../events/event-types.js';
import { mayApplyEdit, mayRedact } from '../../events/auth-rules.js';
import type { StateMap } from '../../events/state-map.js';
import { snowflakeFromLog } from '../../snowflake.js';
import type { Db } from '../database.js';
import { getLoggedEvent, type LoggedEvent } from '../event-log.js';
import { messageRowFromEvent } from './message-row.js';

/** Projects messages, edits, reactions and redactions into messages / reactions. */
export async function projectMessageEvent(trx: Db, ev: LoggedEvent, stateBefore: StateMap): Promise<void> {
  const { pdu } = ev;
  switch (pdu.type) {
    case EventType.Message:
      return projectMessages(trx, [ev]);
    case EventType.Edit: {
      const c = pdu.content as unknown as EditContent;
      const target = await getLoggedEvent(trx, c.target);
      if (!target || !mayApplyEdit(ev, target)) return;
      await trx.updateTable('messages').set(editValues(ev)).where('event_id', '=', c.target).execute();
      return;
    }
    case EventType.Reaction: {
      const c = pdu.content as unknown as ReactionContent;
      const message = await trx.selectFrom('messages').select('id').where('event_id', '=', c.target).where('room_id', '=', pdu.room_id).executeTakeFirst();
      if (!message) return;
      // One reaction per (message, emoji, user): a duplicate is logged but changes nothing.
      const existing = await trx.selectFrom('reactions').select('event_id').where('message_id', '=', message.id).where('emoji', '=', c.emoji).where('user_id', '=', pdu.sender).executeTakeFirst();
      if (existing) return;
      await trx.insertInto('reactions').values({ event_id: ev.event_id, message_id: message.id, emoji: c.emoji, user_id: pdu.sender }).execute();
      return;
    }
    case EventType.Redaction: {
      const c = pdu.content as unknown as RedactionContent;
      const target = await getLoggedEvent(trx, c.redacts);
      if (!target || target.pdu.room_id !== pdu.room_id || !mayRedact(ev, target, stateBefore)) return;
      if (target.pdu.type === EventType.Message) {
        const message = await trx.selectFrom('messages').select('id').where('event_id', '=', c.redacts).executeTakeFirst();
        if (!message) return;
        await trx.deleteFrom('reactions').where('message_id', '=', message.id).execute();
        await trx.deleteFrom('messages').where('id', '=', message.id).execute();
      } else if (target.pdu.type === EventType.Reaction) {
        await trx.deleteFrom('reactions').where('event_id', '=', c.redacts).execute();
      }
      return;
    }
  }
}

// The column values a message and an edit write, shared with the rebuild's in-memory replay
// (replay-message-window.ts) so that both paths write exactly the same values.

/** The row inserted for a message: messageRowFromEvent, with its jsonb columns as JSON text. */
export function messageRow(ev: LoggedEvent, id: string, channelId: string) {
  const row = messageRowFromEvent(ev, channelId);
  return { ...row, id, mentions: JSON.stringify(row.mentions), mention_roles: JSON.stringify(row.mention_roles), edited_ts: null as number | null };
}

/**
 * Projects a run of consecutive messages of one room at once — the common shape of a busy
 * channel's append batch: one lookup of their channels, one multi-row insert, one
 * last_message_id update per channel. The same rows as projectMessageEvent one by one.
 */
export async function projectMessages(trx: Db, events: LoggedEvent[]): Promise<void> {
  if (events.length === 0) return;
  const roomId = events[0].pdu.room_id;
  const keys = [...new Set(events.map((e) => (e.pdu.content as unknown as MessageContent).channel))];
  const channels = await trx.selectFrom('channels').select(['id', 'channel_key']).where('room_id', '=', roomId).where('channel_key', 'in', keys).execute();
  const idByKey = new Map(channels.map((c) => [c.channel_key, c.id]));
  const rows: ReturnType<typeof messageRow>[] = [];
  const lastInChannel = new Map<string, string>();
  for (const ev of events) {
    const channelId = idByKey.get((ev.pdu.content as unknown as MessageContent).channel);
    if (!channelId) continue;
    const id = snowflakeFromLog(ev.received_ts, ev.position);
    rows.push(messageRow(ev, id, channelId));
    lastInChannel.set(channelId, id);
  }
  if (rows.length === 0) return;
  await trx.insertInto('messages').values(rows).onConflict((oc) => oc.column('event_id').doNothing()).execute();
  // Never backwards: history fetched later is older than what the channel shows.
  for (const [channelId, id] of lastInChannel) {
    await trx.updateTable('channels').set({ last_message_id: id }).where('id', '=', channelId)
      .where((eb) => eb.or([eb('last_message_id', 'is', null), eb('last_message_id', '<', id)])).execute();
  }
}

export function editValues(ev: LoggedEvent) {
  const { pdu } = ev;
  const c = pdu.content as unknown as EditContent;
  return {
    body: c.body, mentions: JSON.stringify(c.mentions ?? []), mention_roles: JSON.stringify(c.mention_roles ?? []),
    mention_everyone: c.mention_everyone === true, edited_ts: pdu.origin_server_ts,
  };
}
