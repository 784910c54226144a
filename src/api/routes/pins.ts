import type { Router } from 'express';
import { z } from 'zod';
import { EventType } from '../../events/event-types.js';
import { has, Permission } from '../../events/permissions.js';
import { getStateEvent } from '../../events/state-map.js';
import { pinnedMessages } from '../../store/views/messages.js';
import { channelAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { presentMessages } from '../presenters.js';
import { isoTime } from '../render/common.js';
import { parseQuery, queryInt } from '../validate.js';
import { messageIn } from './message-lookup.js';
import { apiRouter } from './router.js';

const pinsQuery = z.object({
  limit: queryInt({ min: 1, max: 50, default: 50 }),
  before: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'Not a valid ISO8601 timestamp').optional(),
});

/**
 * Pins, both forms Discord has: GET /channels/{id}/messages/pins (paginated by pin time,
 * `{items: [{pinned_at, message}], has_more}`) and PUT/DELETE …/messages/pins/{message}
 * (what discord.js ≥ 14.19 calls), and the older GET/PUT/DELETE /channels/{id}/pins.
 * Mounted before the message routes, so `…/messages/pins` is not read as a message id.
 */
export function pinRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.get('/channels/:channelId/messages/pins', async (req, res) => {
    const access = await channelAccess(ctx, me(res), param(req, 'channelId'));
    const query = parseQuery(pinsQuery, req.query);
    if (!has(access.perms, Permission.READ_MESSAGE_HISTORY)) return void res.json({ items: [], has_more: false });
    // The pin time is the pin event's (views don't keep it); newest pin first.
    const pinned = (await pinnedMessages(ctx.db, access.channel.id))
      .map((row) => ({ row, at: Number(getStateEvent(access.state, EventType.Pin, row.event_id)?.pdu.origin_server_ts ?? row.created_ts) }))
      .filter((p) => query.before === undefined || p.at < Date.parse(query.before))
      .sort((a, b) => b.at - a.at);
    const page = pinned.slice(0, query.limit);
    const messages = await presentMessages(ctx.db, access.guild, page.map((p) => p.row), me(res).nexus_id);
    res.json({ items: page.map((p, i) => ({ pinned_at: isoTime(p.at), message: messages[i] })), has_more: pinned.length > page.length });
  });

  r.get('/channels/:channelId/pins', async (req, res) => {
    const access = await channelAccess(ctx, me(res), param(req, 'channelId'));
    if (!has(access.perms, Permission.READ_MESSAGE_HISTORY)) return void res.json([]);
    res.json(await presentMessages(ctx.db, access.guild, await pinnedMessages(ctx.db, access.channel.id), me(res).nexus_id));
  });

  for (const path of ['/channels/:channelId/messages/pins/:messageId', '/channels/:channelId/pins/:messageId']) {
    for (const [method, pinned] of [['put', true], ['delete', false]] as const) {
      r[method](path, async (req, res) => {
        const user = me(res);
        const access = await channelAccess(ctx, user, param(req, 'channelId'));
        const message = await messageIn(ctx, access, param(req, 'messageId'));
        requirePermission(access.perms, Permission.MANAGE_MESSAGES);
        if (message.pinned !== pinned) await ctx.guilds.setPinned(access.guild.room_id, user.nexus_id, access.channel.channel_key, message.event_id, pinned);
        res.status(204).end();
      });
    }
  }

  return r;
}
