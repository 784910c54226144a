import type { MessageContent } from '../../events/event-types.js';
import { snowflakeFromLog } from '../../snowflake.js';
import type { LoggedEvent } from '../event-log.js';
import type { MessageRow } from '../views/messages.js';

/**
 * The `messages` row a logged nexus.message event projects to. The projection inserts it,
 * and the API and the gateway render a just-sent message from it without reading it back.
 */
export function messageRowFromEvent(ev: LoggedEvent, channelId: string): MessageRow {
  const { pdu } = ev;
  const c = pdu.content as unknown as MessageContent;
  return {
    id: snowflakeFromLog(ev.received_ts, ev.position),
    event_id: ev.event_id,
    room_id: pdu.room_id,
    channel_id: channelId,
    author: pdu.sender,
    body: c.body,
    nonce: typeof c.nonce === 'string' ? c.nonce : null,
    tts: c.tts === true,
    mentions: c.mentions ?? [],
    mention_roles: c.mention_roles ?? [],
    mention_everyone: c.mention_everyone === true,
    reply_to: c.reply_to ?? null,
    created_ts: pdu.origin_server_ts,
    edited_ts: null,
    deleted: false,
    pinned: false,
  };
}
