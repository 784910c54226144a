import type { Router } from 'express';
import { z } from 'zod';
import { EVERYONE_ROLE } from '../../events/event-types.js';
import { Permission, sanitizePermissionInput, topRolePosition } from '../../events/permissions.js';
import { getRoleById, getRoleByKey, listGuildRoles } from '../../store/views/roles.js';
import { guildAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { renderRole } from '../render/role.js';
import { parseBody, permissionString } from '../validate.js';
import { definedFields } from './defined-fields.js';
import { apiRouter } from './router.js';

const rgb = z.number().int().min(0).max(0xffffff);
const roleBody = z
  .object({
    name: z.string().min(1).max(100).optional(),
    permissions: permissionString.optional(),
    color: rgb.optional(),
    // Discord's newer form (discord.js ≥ 14.20 sends only this): Nexus roles have one colour,
    // the primary; gradients (secondary/tertiary) are accepted and not kept.
    colors: z.object({ primary_color: rgb, secondary_color: rgb.nullish(), tertiary_color: rgb.nullish() }).optional(),
    hoist: z.boolean().optional(),
    mentionable: z.boolean().optional(),
    position: z.number().int().min(1).max(250).optional(),
  })
  .transform(({ colors, ...rest }) => ({ ...rest, color: rest.color ?? colors?.primary_color }));

export function roleRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  const permissionsOf = (s: string | undefined) => (s === undefined ? undefined : (sanitizePermissionInput(s) ?? 0n).toString());

  r.get('/guilds/:guildId/roles', async (req, res) => {
    const { guild } = await guildAccess(ctx, me(res), param(req, 'guildId'));
    res.json((await listGuildRoles(ctx.db, guild.id)).map(renderRole));
  });

  r.post('/guilds/:guildId/roles', async (req, res) => {
    const user = me(res);
    const { guild, state, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const body = parseBody(roleBody, req.body);
    requirePermission(perms, Permission.MANAGE_ROLES);
    // Without a position, a new role sits just under the creator's top role (or at 1).
    const position = body.position ?? Math.max(1, Math.min(topRolePosition(state, user.nexus_id) - 1, 250));
    const ev = await ctx.guilds.createRole(guild.room_id, user.nexus_id, {
      name: body.name ?? 'new role', permissions: permissionsOf(body.permissions) ?? '0', position,
      color: body.color ?? 0, hoist: body.hoist ?? false, mentionable: body.mentionable ?? false,
    });
    res.json(renderRole((await getRoleByKey(ctx.db, guild.room_id, ev.pdu.state_key!))!));
  });

  r.patch('/guilds/:guildId/roles/:roleId', async (req, res) => {
    const user = me(res);
    const { guild, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const role = await getRoleById(ctx.db, param(req, 'roleId'));
    if (!role || role.room_id !== guild.room_id) throw apiError('unknownRole');
    const body = parseBody(roleBody, req.body);
    requirePermission(perms, Permission.MANAGE_ROLES);
    await ctx.guilds.updateRole(guild.room_id, user.nexus_id, role.role_key, definedFields({
      name: body.name, permissions: permissionsOf(body.permissions), color: body.color, hoist: body.hoist, mentionable: body.mentionable,
      position: role.role_key === EVERYONE_ROLE ? undefined : body.position,
    }));
    res.json(renderRole((await getRoleById(ctx.db, role.id))!));
  });

  r.delete('/guilds/:guildId/roles/:roleId', async (req, res) => {
    const user = me(res);
    const { guild, perms } = await guildAccess(ctx, user, param(req, 'guildId'));
    const role = await getRoleById(ctx.db, param(req, 'roleId'));
    if (!role || role.room_id !== guild.room_id) throw apiError('unknownRole');
    requirePermission(perms, Permission.MANAGE_ROLES);
    if (role.role_key === EVERYONE_ROLE) throw apiError('missingPermissions');
    await ctx.guilds.deleteRole(guild.room_id, user.nexus_id, role.role_key);
    res.status(204).end();
  });

  return r;
}
