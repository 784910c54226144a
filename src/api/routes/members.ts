import type { Router } from 'express';
import { z } from 'zod';
import { EVERYONE_ROLE } from '../../events/event-types.js';
import { Permission } from '../../events/permissions.js';
import { getMember as getMemberState, memberRoleKeys } from '../../events/state-map.js';
import { getMember } from '../../store/views/members.js';
import { listBans } from '../../store/views/members.js';
import { getRoleById } from '../../store/views/roles.js';
import { getUserById, type UserRow } from '../../store/views/users.js';
import { guildAccess, requirePermission, type GuildAccess } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { presentAllMembers, presentMember, presentMembers } from '../presenters.js';
import { placeholderUser, renderUser } from '../render/user.js';
import { parseBody, parseQuery, queryInt, querySnowflake, snowflake } from '../validate.js';
import { apiRouter } from './router.js';

const listQuery = z.object({ limit: queryInt({ min: 1, max: 1000, default: 1 }), after: querySnowflake });
const searchQuery = z.object({ query: z.string().max(100), limit: queryInt({ min: 1, max: 1000, default: 1 }) });
const patchMemberBody = z.object({ nick: z.string().max(32).nullable().optional(), roles: z.array(snowflake).max(250).optional() });
const banBody = z.object({ delete_message_seconds: z.number().int().min(0).max(604_800).optional(), reason: z.string().max(512).optional() });

export function memberRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  async function targetUser(req: { params: Record<string, string> }, self: UserRow, name = 'userId'): Promise<UserRow> {
    const id = req.params[name];
    if (id === '@me') return self;
    const user = await getUserById(ctx.db, id);
    if (!user) throw apiError('unknownUser');
    return user;
  }

  async function joinedTarget(access: GuildAccess, user: UserRow): Promise<void> {
    const member = await getMember(ctx.db, access.guild.room_id, user.nexus_id);
    if (!member || member.membership !== 'join') throw apiError('unknownMember');
  }

  /** Role snowflakes → role keys of this guild (404 10011 for any other id). */
  async function roleKeys(access: GuildAccess, ids: string[]): Promise<string[]> {
    const keys: string[] = [];
    for (const id of ids) {
      if (id === access.guild.id) continue; // @everyone is implicit
      const role = await getRoleById(ctx.db, id);
      if (!role || role.room_id !== access.guild.room_id) throw apiError('unknownRole');
      keys.push(role.role_key);
    }
    return keys;
  }

  r.get('/guilds/:guildId/members', async (req, res) => {
    const access = await guildAccess(ctx, me(res), param(req, 'guildId'));
    res.json(await presentMembers(ctx.db, access.guild, parseQuery(listQuery, req.query)));
  });

  // Before /members/:userId, so "search" is not read as a user id. Prefix match on the
  // username, display name or nickname, case-insensitive (Discord's Search Guild Members).
  r.get('/guilds/:guildId/members/search', async (req, res) => {
    const access = await guildAccess(ctx, me(res), param(req, 'guildId'));
    const { query, limit } = parseQuery(searchQuery, req.query);
    const q = query.toLowerCase();
    const matches = (s: string | null | undefined) => !!s && s.toLowerCase().startsWith(q);
    const all = await presentAllMembers(ctx.db, access.guild);
    res.json(all.filter((m) => matches(m.user.username) || matches(m.user.global_name) || matches(m.nick)).slice(0, limit));
  });

  r.get('/guilds/:guildId/members/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    const member = await presentMember(ctx.db, access.guild, (await targetUser(req, self)).nexus_id);
    if (!member) throw apiError('unknownMember');
    res.json(member);
  });

  r.patch('/guilds/:guildId/members/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    const user = await targetUser(req, self);
    const body = parseBody(patchMemberBody, req.body);
    await joinedTarget(access, user);
    const room = access.guild.room_id;
    // Fields that already hold the requested value are left alone: Discord answers such a
    // PATCH with the member, while the log refuses an update that changes nothing (rule 3.5).
    const current = getMemberState(access.state, user.nexus_id);
    if (body.roles !== undefined) {
      requirePermission(access.perms, Permission.MANAGE_ROLES);
      const keys = await roleKeys(access, body.roles);
      const had = new Set(memberRoleKeys(current).filter((k) => k !== EVERYONE_ROLE));
      if (keys.length !== had.size || keys.some((k) => !had.has(k))) {
        await ctx.guilds.setMemberRoles(room, self.nexus_id, user.nexus_id, () => keys);
      }
    }
    if (body.nick !== undefined && (body.nick || null) !== (current?.nick || null)) {
      await ctx.guilds.setNick(room, self.nexus_id, user.nexus_id, body.nick || null);
    }
    res.json(await presentMember(ctx.db, access.guild, user.nexus_id));
  });

  r.delete('/guilds/:guildId/members/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    const user = await targetUser(req, self);
    await joinedTarget(access, user);
    if (user.nexus_id === self.nexus_id) await ctx.guilds.leave(access.guild.room_id, self.nexus_id);
    else {
      requirePermission(access.perms, Permission.KICK_MEMBERS);
      await ctx.guilds.kick(access.guild.room_id, self.nexus_id, user.nexus_id, req.get('X-Audit-Log-Reason') ?? undefined);
    }
    res.status(204).end();
  });

  for (const [method, add] of [['put', true], ['delete', false]] as const) {
    r[method]('/guilds/:guildId/members/:userId/roles/:roleId', async (req, res) => {
      const self = me(res);
      const access = await guildAccess(ctx, self, param(req, 'guildId'));
      const user = await targetUser(req, self);
      requirePermission(access.perms, Permission.MANAGE_ROLES);
      await joinedTarget(access, user);
      const [key] = await roleKeys(access, [param(req, 'roleId')]);
      if (!key) throw apiError('unknownRole');
      const member = (await getMember(ctx.db, access.guild.room_id, user.nexus_id))!;
      if (member.roles.includes(key) !== add) {
        await ctx.guilds.setMemberRoles(access.guild.room_id, self.nexus_id, user.nexus_id, (roles) => (add ? [...roles, key] : roles.filter((k) => k !== key)));
      }
      res.status(204).end();
    });
  }

  r.get('/guilds/:guildId/bans', async (req, res) => {
    const access = await guildAccess(ctx, me(res), param(req, 'guildId'));
    requirePermission(access.perms, Permission.BAN_MEMBERS);
    const bans = await listBans(ctx.db, access.guild.room_id);
    res.json(bans.map(({ member, user }) => ({ reason: null, user: user ? renderUser(user) : placeholderUser(member.user_id) })));
  });

  r.get('/guilds/:guildId/bans/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    requirePermission(access.perms, Permission.BAN_MEMBERS);
    const user = await targetUser(req, self);
    const member = await getMember(ctx.db, access.guild.room_id, user.nexus_id);
    if (member?.membership !== 'ban') throw apiError('unknownBan');
    res.json({ reason: null, user: renderUser(user) });
  });

  r.put('/guilds/:guildId/bans/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    const user = await targetUser(req, self);
    const body = parseBody(banBody, req.body);
    requirePermission(access.perms, Permission.BAN_MEMBERS);
    const reason = body.reason ?? req.get('X-Audit-Log-Reason') ?? undefined;
    await ctx.guilds.ban(access.guild.room_id, self.nexus_id, user.nexus_id, reason);
    res.status(204).end();
  });

  r.delete('/guilds/:guildId/bans/:userId', async (req, res) => {
    const self = me(res);
    const access = await guildAccess(ctx, self, param(req, 'guildId'));
    const user = await targetUser(req, self);
    requirePermission(access.perms, Permission.BAN_MEMBERS);
    const member = await getMember(ctx.db, access.guild.room_id, user.nexus_id);
    if (member?.membership !== 'ban') throw apiError('unknownBan');
    await ctx.guilds.unban(access.guild.room_id, self.nexus_id, user.nexus_id);
    res.status(204).end();
  });

  return r;
}
