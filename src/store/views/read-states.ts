import { sql } from 'kysely';
import { snowflakeFromLog } from '../../snowflake.js';
import type { Db } from '../database.js';

/** A user's read positions in live channels: the channel's id and the last read message's id. */
export async function listReadStates(db: Db, nexusId: string): Promise<Array<{ channelId: string; lastMessageId: string }>> {
  const { rows } = await sql<{ channel_id: string; position: string; received_ts: string }>`
    SELECT c.id AS channel_id, e.position, e.received_ts FROM read_states r
    JOIN channels c ON c.room_id = r.room_id AND c.channel_key = r.channel_key AND NOT c.deleted
    JOIN events e ON e.event_id = r.event_id
    WHERE r.user_id = ${nexusId}
    ORDER BY c.id`.execute(db);
  // The message's snowflake comes from the log, so a read position outlives the message.
  return rows.map((r) => ({ channelId: String(r.channel_id), lastMessageId: snowflakeFromLog(Number(r.received_ts), r.position) }));
}
