import type { Router } from 'express';
import { z } from 'zod';
import { Permission } from '../../events/permissions.js';
import { reactionUsers } from '../../store/views/messages.js';
import { getUserById, usersByNexusIds } from '../../store/views/users.js';
import { channelAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { renderUserOf } from '../render/user.js';
import { messageIn } from './message-lookup.js';
import { apiRouter } from './router.js';

const emojiParam = z.string().min(1).max(64);
const BASE = '/channels/:channelId/messages/:messageId/reactions';

/**
 * Reactions: add your own, remove your own or (with MANAGE_MESSAGES) someone else's, one
 * emoji's or all of them, and list who reacted. Each removal is a redaction of that
 * reaction event, so removing many sends one MESSAGE_REACTION_REMOVE per reaction rather
 * than Discord's REMOVE_EMOJI / REMOVE_ALL (clients handle both).
 */
export function reactionRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.put(`${BASE}/:emoji/@me`, async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(ctx, access, param(req, 'messageId'));
    const emoji = parseEmoji(param(req, 'emoji'));
    requirePermission(access.perms, Permission.READ_MESSAGE_HISTORY);
    requirePermission(access.perms, Permission.ADD_REACTIONS);
    const mine = await reactionEvents(message.id, { emoji, user: user.nexus_id });
    if (mine.length === 0) await ctx.guilds.react(access.guild.room_id, user.nexus_id, access.channel.channel_key, message.event_id, emoji);
    res.status(204).end();
  });

  // `userId` is '@me' or a user snowflake (the router allows both).
  r.delete(`${BASE}/:emoji/:userId`, async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(ctx, access, param(req, 'messageId'));
    const emoji = parseEmoji(param(req, 'emoji'));
    let target = user.nexus_id;
    if (param(req, 'userId') !== '@me' && param(req, 'userId') !== user.id) {
      requirePermission(access.perms, Permission.MANAGE_MESSAGES);
      const other = await getUserById(ctx.db, param(req, 'userId'));
      if (!other) throw apiError('unknownUser');
      target = other.nexus_id;
    }
    await redactAll(access, await reactionEvents(message.id, { emoji, user: target }), user.nexus_id);
    res.status(204).end();
  });

  r.delete(`${BASE}/:emoji`, async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(ctx, access, param(req, 'messageId'));
    const emoji = parseEmoji(param(req, 'emoji'));
    requirePermission(access.perms, Permission.MANAGE_MESSAGES);
    await redactAll(access, await reactionEvents(message.id, { emoji }), user.nexus_id);
    res.status(204).end();
  });

  r.delete(BASE, async (req, res) => {
    const user = me(res);
    const access = await channelAccess(ctx, user, param(req, 'channelId'));
    const message = await messageIn(ctx, access, param(req, 'messageId'));
    requirePermission(access.perms, Permission.MANAGE_MESSAGES);
    await redactAll(access, await reactionEvents(message.id, {}), user.nexus_id);
    res.status(204).end();
  });

  r.get(`${BASE}/:emoji`, async (req, res) => {
    const access = await channelAccess(ctx, me(res), param(req, 'channelId'));
    const message = await messageIn(ctx, access, param(req, 'messageId'));
    const ids = await reactionUsers(ctx.db, message.id, parseEmoji(param(req, 'emoji')));
    const users = await usersByNexusIds(ctx.db, ids);
    res.json(ids.map((id) => renderUserOf(id, users)));
  });

  /** The reaction events on a message, optionally of one emoji and/or one user. */
  async function reactionEvents(messageId: string, by: { emoji?: string; user?: string }): Promise<string[]> {
    let q = ctx.db.selectFrom('reactions').select('event_id').where('message_id', '=', messageId);
    if (by.emoji !== undefined) q = q.where('emoji', '=', by.emoji);
    if (by.user !== undefined) q = q.where('user_id', '=', by.user);
    return (await q.execute()).map((row) => row.event_id);
  }

  async function redactAll(access: { guild: { room_id: string }; channel: { channel_key: string } }, eventIds: string[], sender: string): Promise<void> {
    for (const id of eventIds) await ctx.guilds.redact(access.guild.room_id, sender, id, access.channel.channel_key);
  }

  return r;
}

/** The emoji path segment: a unicode emoji, or `name:id` for a custom one (already URL-decoded). */
function parseEmoji(raw: string): string {
  const parsed = emojiParam.safeParse(raw);
  if (!parsed.success) throw apiError('unknownEmoji');
  return parsed.data;
}
