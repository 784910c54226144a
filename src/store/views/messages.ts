import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { MessagesTable } from '../schema.js';
import { clamp } from './paging.js';

export type MessageRow = Selectable<MessagesTable>;

/** One emoji's reactions on a message; `users` are nexus ids in the order they reacted. */
export interface ReactionSummary {
  emoji: string;
  count: number;
  users: string[];
}

export async function getMessageById(db: Db, id: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', id).where('deleted', '=', false).executeTakeFirst();
}

export async function getMessageByEventId(db: Db, eventId: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('event_id', '=', eventId).where('deleted', '=', false).executeTakeFirst();
}

/** Messages by event id in one query (the targets of replies on a page). */
export async function messagesByEventIds(db: Db, eventIds: Iterable<string>): Promise<Map<string, MessageRow>> {
  const ids = [...new Set(eventIds)];
  const out = new Map<string, MessageRow>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('messages').selectAll().where('event_id', 'in', ids).where('deleted', '=', false).execute();
  for (const row of rows) out.set(row.event_id, row);
  return out;
}

export interface MessagePage {
  limit?: number; // 1..100, default 50
  before?: string;
  after?: string;
  around?: string;
}

/**
 * A page of a channel's history, newest first in every case, as Discord returns it:
 * - no cursor: the latest `limit` messages;
 * - `before`: the `limit` messages just older than it;
 * - `after`: the `limit` messages just newer than it (the oldest of those that are newer);
 * - `around`: the message itself if it exists and the older ones up to ceil(limit/2)
 *   messages in all, plus up to floor(limit/2) newer ones (so limit 1 fetches the message).
 * Only one cursor is used, in the order around > before > after. Every query is a range
 * scan of the (channel_id, id) index. Cursors must be valid snowflakes (the API checks).
 */
export async function listChannelMessages(db: Db, channelId: string, page: MessagePage = {}): Promise<MessageRow[]> {
  const limit = clamp(page.limit ?? 50, 1, 100);
  const base = () => db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('deleted', '=', false);
  if (page.around !== undefined) {
    const newerCount = Math.floor(limit / 2);
    const [older, newer] = await Promise.all([
      base().where('id', '<=', page.around).orderBy('id', 'desc').limit(limit - newerCount).execute(),
      newerCount === 0 ? Promise.resolve([]) : base().where('id', '>', page.around).orderBy('id', 'asc').limit(newerCount).execute(),
    ]);
    return [...newer.reverse(), ...older];
  }
  if (page.before !== undefined) return base().where('id', '<', page.before).orderBy('id', 'desc').limit(limit).execute();
  if (page.after !== undefined) {
    const rows = await base().where('id', '>', page.after).orderBy('id', 'asc').limit(limit).execute();
    return rows.reverse();
  }
  return base().orderBy('id', 'desc').limit(limit).execute();
}

/** A channel's pinned messages, newest first (the pin time is not projected). */
export async function pinnedMessages(db: Db, channelId: string): Promise<MessageRow[]> {
  return db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('pinned', '=', true).where('deleted', '=', false).orderBy('id', 'desc').execute();
}

/**
 * Reactions on many messages in one query, grouped by message then emoji. Emojis come in
 * the order they were first used and users in the order they reacted (log position of
 * the reaction event), as Discord orders them.
 */
export async function reactionsFor(db: Db, messageIds: Iterable<string>): Promise<Map<string, ReactionSummary[]>> {
  const ids = [...new Set(messageIds)];
  const out = new Map<string, ReactionSummary[]>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('reactions')
    .innerJoin('events', 'events.event_id', 'reactions.event_id')
    .select(['reactions.message_id', 'reactions.emoji', 'reactions.user_id'])
    .where('reactions.message_id', 'in', ids)
    .orderBy('events.position')
    .execute();
  for (const row of rows) {
    const messageId = String(row.message_id);
    let list = out.get(messageId);
    if (!list) out.set(messageId, (list = []));
    let summary = list.find((s) => s.emoji === row.emoji);
    if (!summary) list.push((summary = { emoji: row.emoji, count: 0, users: [] }));
    summary.count += 1;
    summary.users.push(row.user_id);
  }
  return out;
}

/** The users (nexus ids) who reacted with one emoji, in reaction order (for GET …/reactions/{emoji}). */
export async function reactionUsers(db: Db, messageId: string, emoji: string): Promise<string[]> {
  const rows = await db
    .selectFrom('reactions')
    .innerJoin('events', 'events.event_id', 'reactions.event_id')
    .select('reactions.user_id')
    .where('reactions.message_id', '=', messageId)
    .where('reactions.emoji', '=', emoji)
    .orderBy('events.position')
    .execute();
  return rows.map((r) => r.user_id);
}
