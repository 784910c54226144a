import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { ChannelsTable, OverwritesTable } from '../schema.js';

export type ChannelRow = Selectable<ChannelsTable>;
export type OverwriteRow = Selectable<OverwritesTable>;

/** A deleted channel keeps its row (its state entry is marked deleted); callers see it gone. */
export interface ChannelLookupOptions {
  includeDeleted?: boolean;
}

export async function getChannelById(db: Db, id: string, opts: ChannelLookupOptions = {}): Promise<ChannelRow | undefined> {
  let q = db.selectFrom('channels').selectAll().where('id', '=', id);
  if (!opts.includeDeleted) q = q.where('deleted', '=', false);
  return q.executeTakeFirst();
}

export async function getChannelByKey(db: Db, roomId: string, channelKey: string, opts: ChannelLookupOptions = {}): Promise<ChannelRow | undefined> {
  let q = db.selectFrom('channels').selectAll().where('room_id', '=', roomId).where('channel_key', '=', channelKey);
  if (!opts.includeDeleted) q = q.where('deleted', '=', false);
  return q.executeTakeFirst();
}

/** A guild's live channels, by position then id (Discord's sidebar order within a parent). */
export async function listGuildChannels(db: Db, guildId: string): Promise<ChannelRow[]> {
  return db.selectFrom('channels').selectAll().where('guild_id', '=', guildId).where('deleted', '=', false).orderBy('position').orderBy('id').execute();
}

/** Permission overwrites of one channel, or of every channel of the room when no key is given. */
export async function listOverwrites(db: Db, roomId: string, channelKey?: string): Promise<OverwriteRow[]> {
  let q = db.selectFrom('overwrites').selectAll().where('room_id', '=', roomId);
  if (channelKey !== undefined) q = q.where('channel_key', '=', channelKey);
  return q.orderBy('channel_key').orderBy('target').execute();
}

/** Groups overwrite rows by channel key, for rendering many channels at once. */
export function overwritesByChannel(rows: OverwriteRow[]): Map<string, OverwriteRow[]> {
  const out = new Map<string, OverwriteRow[]>();
  for (const row of rows) {
    const list = out.get(row.channel_key);
    if (list) list.push(row);
    else out.set(row.channel_key, [row]);
  }
  return out;
}
