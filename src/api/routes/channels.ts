import { randomBytes } from 'node:crypto';
import { apiRouter } from './router.js';
import { Router } from 'express';
import { z } from 'zod';
import { ChannelKind } from '../../events/event-types.js';
import { Intent } from '../../gateway/intents.js';
import { Permission, sanitizePermissionInput } from '../../events/permissions.js';
import { dmParticipants, joinedMembers } from '../../events/state-map.js';
import { getChannelById } from '../../store/views/channels.js';
import { createInvite, getInvite, listChannelInvites } from '../../store/views/invites.js';
import { getRoleById } from '../../store/views/roles.js';
import { getUserById, usersByNexusIds } from '../../store/views/users.js';
import { channelAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { presentChannel, presentDmChannel, presentMember } from '../presenters.js';
import { renderInvite } from '../render/invite.js';
import { parseBody, permissionString } from '../validate.js';
import { definedFields } from './defined-fields.js';
import { channelName } from './guilds.js';

const patchChannelBody = z.object({
  name: channelName.optional(),
  topic: z.string().max(1024).nullable().optional(),
  position: z.number().int().min(0).max(10_000).optional(),
  parent_id: z.string().nullable().optional(),
  nsfw: z.boolean().optional(),
});
const overwriteBody = z.object({ type: z.union([z.literal(0), z.literal(1)]), allow: permissionString.optional(), deny: permissionString.optional() });
const inviteBody = z.object({
  max_age: z.number().int().min(0).max(604_800).optional(),
  max_uses: z.number().int().min(0).max(100).optional(),
  temporary: z.boolean().optional(),
  unique: z.boolean().optional(),
});

export function channelRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.get('/channels/:channelId', async (req, res) => {
    const user = me(res);
    const { guild, channel, state } = await channelAccess(ctx, user, param(req, 'channelId'));
    const participants = dmParticipants(state);
    res.json(participants ? await presentDmChannel(ctx.db, guild, channel, participants, user.nexus_id) : await presentChannel(ctx.db, guild, channel));
  });

  r.patch('/channels/:channelId', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    const body = parseBody(patchChannelBody, req.body);
    requirePermission(perms, Permission.MANAGE_CHANNELS);
    let parent: string | null | undefined;
    if (body.parent_id === null) parent = null;
    else if (body.parent_id !== undefined) {
      const p = await getChannelById(ctx.db, body.parent_id);
      if (!p || p.guild_id !== guild.id || p.kind !== ChannelKind.Category) throw apiError('unknownChannel');
      parent = p.channel_key;
    }
    await ctx.guilds.updateChannel(guild.room_id, user.nexus_id, channel.channel_key, definedFields({ name: body.name, topic: body.topic, position: body.position, nsfw: body.nsfw, parent }));
    res.json(await presentChannel(ctx.db, guild, (await getChannelById(ctx.db, channel.id))!));
  });

  r.delete('/channels/:channelId', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    requirePermission(perms, Permission.MANAGE_CHANNELS);
    await ctx.guilds.deleteChannel(guild.room_id, user.nexus_id, channel.channel_key);
    res.json(await presentChannel(ctx.db, guild, (await getChannelById(ctx.db, channel.id, { includeDeleted: true }))!));
  });

  r.put('/channels/:channelId/permissions/:overwriteId', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    const body = parseBody(overwriteBody, req.body);
    requirePermission(perms, Permission.MANAGE_ROLES);
    const target = await overwriteTarget(ctx, guild.room_id, param(req, 'overwriteId'), body.type);
    const allow = sanitizePermissionInput(body.allow ?? '0') ?? 0n;
    const deny = sanitizePermissionInput(body.deny ?? '0') ?? 0n;
    await ctx.guilds.setOverwrite(guild.room_id, user.nexus_id, channel.channel_key, target.key, target.kind, allow, deny);
    res.status(204).end();
  });

  r.delete('/channels/:channelId/permissions/:overwriteId', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    requirePermission(perms, Permission.MANAGE_ROLES);
    const id = param(req, 'overwriteId');
    const role = await getRoleById(ctx.db, id);
    const target = await overwriteTarget(ctx, guild.room_id, id, role && role.room_id === guild.room_id ? 0 : 1);
    const exists = await ctx.db.selectFrom('overwrites').select('target').where('room_id', '=', guild.room_id).where('channel_key', '=', channel.channel_key).where('target', '=', target.key).executeTakeFirst();
    if (!exists) throw apiError('unknownOverwrite');
    await ctx.guilds.deleteOverwrite(guild.room_id, user.nexus_id, channel.channel_key, target.key, target.kind);
    res.status(204).end();
  });

  r.post('/channels/:channelId/typing', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    requirePermission(perms, Permission.SEND_MESSAGES);
    await ctx.typing.started(guild.room_id, channel.channel_key, user.nexus_id);
    res.status(204).end();
  });

  r.post('/channels/:channelId/invites', async (req, res) => {
    const user = me(res);
    const { guild, channel, perms } = await channelAccess(ctx, user, param(req, 'channelId'));
    const body = parseBody(inviteBody, req.body);
    requirePermission(perms, Permission.CREATE_INSTANT_INVITE);
    let code = '';
    for (let i = 0; i < 5 && !code; i++) {
      const candidate = randomBytes(6).toString('base64url').replace(/[-_]/g, 'x');
      const ok = await createInvite(ctx.db, {
        code: candidate, room_id: guild.room_id, channel_key: channel.channel_key, inviter: user.nexus_id,
        max_age: body.max_age ?? 86_400, max_uses: body.max_uses ?? 0, temporary: body.temporary ?? false, created_ts: ctx.clock.now(),
      });
      if (ok) code = candidate;
    }
    if (!code) throw apiError('internal');
    res.json(renderInvite((await getInvite(ctx.db, code))!, guild, channel, user));
  });

  r.get('/channels/:channelId/invites', async (req, res) => {
    const { guild, channel, perms } = await channelAccess(ctx, me(res), param(req, 'channelId'));
    requirePermission(perms, Permission.MANAGE_CHANNELS);
    const invites = await listChannelInvites(ctx.db, guild.room_id, channel.channel_key);
    const inviters = await usersByNexusIds(ctx.db, invites.map((i) => i.inviter));
    res.json(invites.map((i) => renderInvite(i, guild, channel, inviters.get(i.inviter))));
  });

  return r;
}

/** An overwrite's target: type 0 is a role of this guild, type 1 a user. */
async function overwriteTarget(ctx: ApiContext, roomId: string, id: string, type: 0 | 1): Promise<{ key: string; kind: 'role' | 'member' }> {
  if (type === 0) {
    const role = await getRoleById(ctx.db, id);
    if (!role || role.room_id !== roomId) throw apiError('unknownRole');
    return { key: role.role_key, kind: 'role' };
  }
  const user = await getUserById(ctx.db, id);
  if (!user) throw apiError('unknownUser');
  return { key: user.nexus_id, kind: 'member' };
}
