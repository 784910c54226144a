import { apiRouter } from './router.js';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { ChannelKind } from '../../events/event-types.js';
import { has, Permission } from '../../events/permissions.js';
import { isSnowflake, snowflakeTime } from '../../snowflake.js';
import { getMessageById, listChannelMessages, type MessageRow } from '../../store/views/messages.js';
import { channelAccess, requirePermission, type ChannelAccess } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError, fieldErrors } from '../errors.js';
import { LIMITS } from '../../events/auth-content.js';
import { resolveMentions } from '../mentions.js';
import { presentMessage, presentMessages, presentNewMessage } from '../presenters.js';
import { messageRowFromEvent } from '../../store/projections/message-row.js';
import { codePointLength, messageContent, parseBody, parseQuery, queryInt, querySnowflake, snowflake } from '../validate.js';
import { messageIn as messageInChannel } from './message-lookup.js';
import { pinRoutes } from './pins.js';
import { reactionRoutes } from './reactions.js';

const createMessageBody = z.object({
  content: messageContent.optional(),
  nonce: z.union([z.string().max(25), z.number().int()]).optional(),
  tts: z.boolean().optional(),
  message_reference: z.object({ message_id: z.string(), channel_id: z.string().optional(), guild_id: z.string().optional(), fail_if_not_exists: z.boolean().optional() }).optional(),
  embeds: z.array(z.unknown()).max(0, 'Embeds are not supported yet').optional(),
  allowed_mentions: z.unknown().optional(),
  flags: z.number().int().optional(),
});
const editMessageBody = z.object({ content: messageContent });
const listQuery = z.object({ limit: queryInt({ min: 1, max: 100, default: 50 }), before: querySnowflake, after: querySnowflake, around: querySnowflake });
const bulkDeleteBody = z.object({ messages: z.array(snowflake) });
/** Discord refuses to bulk-delete messages older than two weeks (50034). */
const BULK_DELETE_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

/** Pages of guild history (up to 100 events each) fetched for one short page of messages. */
const HISTORY_ROUNDS_PER_PAGE = 10;

export function messageRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  // Pins and reactions first: `…/messages/pins` must not be read as a message id.
  r.use(pinRoutes(ctx), reactionRoutes(ctx));
  const messageIn = (access: ChannelAccess, id: string) => messageInChannel(ctx, access, id);

  /** The event body of a client's text (mentions with global ids), and whom it mentions. */
  async function bodyWithMentions(roomId: string, text: string) {
    const mentions = await resolveMentions(ctx.db, roomId, text);
    if (codePointLength(mentions.body) > LIMITS.body[1]) {
      throw fieldErrors({ content: { code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${LIMITS.body[1]} or fewer in length once mentions are written with global ids.` } });
    }
    return mentions;
  }

  async function send(res: Response, access: ChannelAccess, row: MessageRow, status = 200) {
    res.status(status).json(await presentMessage(ctx.db, access.guild, row, me(res).nexus_id));
  }

  r.get('/channels/:channelId/messages', async (req, res) => {
    const access = await channelAccess(ctx, me(res), param(req, 'channelId'));
    const page = parseQuery(listQuery, req.query);
    // Without READ_MESSAGE_HISTORY Discord answers with an empty list, not an error.
    if (!has(access.perms, Permission.READ_MESSAGE_HISTORY)) return void res.json([]);
    let rows = await listChannelMessages(ctx.db, access.channel.id, page);
    // A guild joined from another server holds the history fetched so far: a page going
    // back in time that comes up short fetches older history first (a few pages at most).
    if (ctx.olderHistory && page.after === undefined && page.around === undefined) {
      for (let round = 0; round < HISTORY_ROUNDS_PER_PAGE && rows.length < page.limit; round++) {
        const outcome = await ctx.olderHistory(access.guild.room_id);
        if (outcome === 'done' || outcome === 'failed') break;
        rows = await listChannelMessages(ctx.db, access.channel.id, page);
        if (outcome === 'last') break;
      }
    }
    res.json(await presentMessages(ctx.db, access.guild, rows, me(res).nexus_id));
  });

  r.post('/channels/:channelId/messages', async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const body = parseBody(createMessageBody, req.body);
    if (!body.content || body.content.trim() === '') throw apiError('cannotSendEmptyMessage');
    if (access.channel.kind !== ChannelKind.Text && access.channel.kind !== ChannelKind.DM) throw apiError('cannotSendInNonTextChannel');
    requirePermission(access.perms, Permission.SEND_MESSAGES);
    let replyTo: string | undefined;
    if (body.message_reference) {
      const target = isSnowflake(body.message_reference.message_id) ? await getMessageById(ctx.db, body.message_reference.message_id) : undefined;
      if (target && target.channel_id === access.channel.id) replyTo = target.event_id;
      else if (body.message_reference.fail_if_not_exists !== false) throw apiError('unknownMessage');
    }
    const mentions = await bodyWithMentions(access.guild.room_id, body.content);
    const content = {
      channel: access.channel.channel_key,
      body: mentions.body,
      ...(body.nonce !== undefined ? { nonce: String(body.nonce) } : {}),
      ...(body.tts && has(access.perms, Permission.SEND_TTS_MESSAGES) ? { tts: true } : {}),
      ...(mentions.users.length ? { mentions: mentions.users } : {}),
      ...(mentions.roles.length ? { mention_roles: mentions.roles } : {}),
      // @everyone from someone without MENTION_EVERYONE is text, not a ping (Discord's rule).
      ...(mentions.everyone && has(access.perms, Permission.MENTION_EVERYONE) ? { mention_everyone: true } : {}),
      ...(replyTo ? { reply_to: replyTo } : {}),
    };
    const ev = await ctx.guilds.sendMessage(access.guild.room_id, user.nexus_id, content);
    res.json(await presentNewMessage(ctx.db, access.guild, messageRowFromEvent(ev, access.channel.id), user));
  });

  // Bulk delete: 2–100 ids, none older than two weeks; ids of messages that are not (or no
  // longer) in the channel are skipped, as Discord does. One redaction per message.
  r.post('/channels/:channelId/messages/bulk-delete', async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const ids = [...new Set(parseBody(bulkDeleteBody, req.body).messages)];
    if (ids.length < 2 || ids.length > 100) throw apiError('bulkDeleteCount');
    requirePermission(access.perms, Permission.MANAGE_MESSAGES);
    if (ids.some((id) => snowflakeTime(id) < ctx.clock.now() - BULK_DELETE_MAX_AGE_MS)) throw apiError('bulkDeleteTooOld');
    for (const id of ids) {
      const message = await getMessageById(ctx.db, id);
      if (message && message.channel_id === access.channel.id) {
        await ctx.guilds.redact(access.guild.room_id, user.nexus_id, message.event_id, access.channel.channel_key);
      }
    }
    res.status(204).end();
  });

  r.get('/channels/:channelId/messages/:messageId', async (req, res) => {
    const access = await channelAccess(ctx, me(res), param(req, 'channelId'));
    requirePermission(access.perms, Permission.READ_MESSAGE_HISTORY);
    await send(res, access, await messageIn(access, param(req, 'messageId')));
  });

  r.patch('/channels/:channelId/messages/:messageId', async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(access, param(req, 'messageId'));
    const body = parseBody(editMessageBody, req.body);
    if (message.author !== user.nexus_id) throw apiError('cannotEditOthersMessage');
    const mentions = await bodyWithMentions(access.guild.room_id, body.content);
    await ctx.guilds.editMessage(access.guild.room_id, user.nexus_id, {
      channel: access.channel.channel_key, target: message.event_id, body: mentions.body,
      ...(mentions.users.length ? { mentions: mentions.users } : {}),
      ...(mentions.roles.length ? { mention_roles: mentions.roles } : {}),
      ...(mentions.everyone && has(access.perms, Permission.MENTION_EVERYONE) ? { mention_everyone: true } : {}),
    });
    await send(res, access, (await getMessageById(ctx.db, message.id))!);
  });

  // Marks the channel read up to this message (Discord's ack). The position is a signed
  // event in the user's private account room, never an event of the guild.
  r.post('/channels/:channelId/messages/:messageId/ack', async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(access, param(req, 'messageId'));
    await ctx.guilds.markRead(user.nexus_id, access.guild.room_id, access.channel.channel_key, message.event_id);
    res.json({ token: null });
  });

  r.delete('/channels/:channelId/messages/:messageId', async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(access, param(req, 'messageId'));
    if (message.author !== user.nexus_id) requirePermission(access.perms, Permission.MANAGE_MESSAGES);
    await ctx.guilds.redact(access.guild.room_id, user.nexus_id, message.event_id, access.channel.channel_key);
    res.status(204).end();
  });

  return r;
}
