import { isSnowflake } from '../../snowflake.js';
import { getMessageById, type MessageRow } from '../../store/views/messages.js';
import type { ChannelAccess } from '../access.js';
import type { ApiContext } from '../context.js';
import { apiError } from '../errors.js';

/** The message, if it is in this channel (404 10008 otherwise). */
export async function messageIn(ctx: ApiContext, access: ChannelAccess, messageId: string): Promise<MessageRow> {
  const message = isSnowflake(messageId) ? await getMessageById(ctx.db, messageId) : undefined;
  if (!message || message.channel_id !== access.channel.id) throw apiError('unknownMessage');
  return message;
}
