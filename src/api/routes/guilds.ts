import { apiRouter } from './router.js';
import { Router } from 'express';
import { z } from 'zod';
import { ChannelKind, EventType } from '../../events/event-types.js';
import { getStateEvent } from '../../events/state-map.js';
import { Permission } from '../../events/permissions.js';
import { getChannelByKey, getChannelById } from '../../store/views/channels.js';
import { getGuildByRoomId } from '../../store/views/guilds.js';
import { guildAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { presentChannel, presentChannels, presentGuild } from '../presenters.js';
import { parseBody, parseQuery } from '../validate.js';

const guildName = z.string().trim().min(2).max(100);
const createGuildBody = z.object({ name: guildName });
const patchGuildBody = z.object({
  name: guildName.optional(),
  description: z.string().max(120).nullable().optional(),
  icon: z.string().max(256).nullable().optional(),
  discoverable: z.boolean().optional(),
});
const aclPatterns = z.array(z.string().min(1).max(255)).max(100);
const serverAclBody = z.object({ allow: aclPatterns, deny: aclPatterns });
export const channelName = z.string().trim().min(1).max(100);
const createChannelBody = z.object({
  name: channelName,
  type: z.union([z.literal(ChannelKind.Text), z.literal(ChannelKind.Voice), z.literal(ChannelKind.Category)]).optional(),
  topic: z.string().max(1024).nullable().optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  parent_id: z.string().nullable().optional(),
  nsfw: z.boolean().optional(),
});

export function guildRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.post('/guilds', async (req, res) => {
    const user = me(res);
    const body = parseBody(createGuildBody, req.body);
    const { roomId } = await ctx.guilds.createGuild(user.nexus_id, { name: body.name });
    const guild = (await getGuildByRoomId(ctx.db, roomId))!;
    res.status(201).json(await presentGuild(ctx.db, guild));
  });

  r.get('/guilds/:guildId', async (req, res) => {
    const { guild } = await guildAccess(ctx, me(res), param(req, 'guildId'));
    const { with_counts } = parseQuery(z.object({ with_counts: z.enum(['true', 'false']).optional() }), req.query);
    res.json(await presentGuild(ctx.db, guild, { withCounts: with_counts === 'true' }));
  });

  r.patch('/guilds/:guildId', async (req, res) => {
    const user = me(res);
    const { guild, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const body = parseBody(patchGuildBody, req.body);
    requirePermission(perms, Permission.MANAGE_GUILD);
    await ctx.guilds.updateSettings(guild.room_id, user.nexus_id, body);
    res.json(await presentGuild(ctx.db, (await getGuildByRoomId(ctx.db, guild.room_id))!));
  });

  // Deleting a guild: only its owner may, as on Discord. Every member is removed (the owner
  // last), so the guild disappears for everyone while its history stays in the log.
  r.delete('/guilds/:guildId', async (req, res) => {
    const user = me(res);
    const { guild } = await guildAccess(ctx, user, param(req, 'guildId'));
    if (guild.owner !== user.nexus_id) throw apiError('missingPermissions');
    await ctx.guilds.dissolve(guild.room_id, user.nexus_id);
    res.status(204).end();
  });

  // Nexus guilds have no custom emojis (the guild object says `emojis: []`); answering the
  // list rather than 404 lets clients that fetch it (discord.js guild.emojis.fetch()) go on.
  r.get('/guilds/:guildId/emojis', async (req, res) => {
    await guildAccess(ctx, me(res), param(req, 'guildId'));
    res.json([]);
  });

  // Nexus, not Discord: which servers may take part in this guild (spec: server ACL).
  r.get('/guilds/:guildId/server-acl', async (req, res) => {
    const { state } = await guildAccess(ctx, me(res), param(req, 'guildId'));
    const acl = getStateEvent(state, EventType.ServerAcl, '')?.pdu.content ?? { allow: ['*'], deny: [] };
    res.json(acl);
  });

  r.put('/guilds/:guildId/server-acl', async (req, res) => {
    const user = me(res);
    const { guild, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const body = parseBody(serverAclBody, req.body);
    requirePermission(perms, Permission.MANAGE_GUILD);
    await ctx.guilds.setServerAcl(guild.room_id, user.nexus_id, body);
    res.status(204).end();
  });

  r.get('/guilds/:guildId/channels', async (req, res) => {
    const { guild } = await guildAccess(ctx, me(res), param(req, 'guildId'));
    res.json(await presentChannels(ctx.db, guild));
  });

  r.post('/guilds/:guildId/channels', async (req, res) => {
    const user = me(res);
    const { guild, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const body = parseBody(createChannelBody, req.body);
    requirePermission(perms, Permission.MANAGE_CHANNELS);
    let parent: string | null = null;
    if (body.parent_id) {
      const p = await getChannelById(ctx.db, body.parent_id);
      if (!p || p.guild_id !== guild.id || p.deleted || p.kind !== ChannelKind.Category) throw apiError('unknownChannel');
      parent = p.channel_key;
    }
    const ev = await ctx.guilds.createChannel(guild.room_id, user.nexus_id, {
      name: body.name, kind: body.type ?? ChannelKind.Text, topic: body.topic ?? null, position: body.position ?? 0, parent, nsfw: body.nsfw ?? false,
    });
    const channel = (await getChannelByKey(ctx.db, guild.room_id, ev.pdu.state_key!))!;
    res.status(201).json(await presentChannel(ctx.db, guild, channel));
  });

  return r;
}
