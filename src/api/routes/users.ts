import { apiRouter } from './router.js';
import { Router } from 'express';
import { isSnowflake } from '../../snowflake.js';
import { listGuildsForUser } from '../../store/views/guilds.js';
import { getUserById } from '../../store/views/users.js';
import { guildAccess } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { presentGuild } from '../presenters.js';
import { renderUser } from '../render/user.js';
import { basePermissions } from '../../events/permissions.js';

export function userRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/users/@me', (_req, res) => {
    res.json({ ...renderUser(me(res)), verified: true, mfa_enabled: false, locale: 'en-US', email: null });
  });
  r.get('/users/@me/guilds', async (_req, res) => {
    const user = me(res);
    const guilds = await listGuildsForUser(ctx.db, user.nexus_id);
    const out = await Promise.all(guilds.map(async (g) => {
      const full = await presentGuild(ctx.db, g);
      const state = await ctx.writer.stateOf(g.room_id);
      return {
        id: full.id, name: full.name, icon: full.icon, banner: null, owner: g.owner === user.nexus_id,
        permissions: basePermissions(state, user.nexus_id).toString(), features: full.features, nexus_id: g.room_id,
      };
    }));
    res.json(out);
  });
  r.delete('/users/@me/guilds/:guildId', async (req, res) => {
    const user = me(res);
    const { guild } = await guildAccess(ctx, user, param(req, 'guildId'));
    await ctx.guilds.leave(guild.room_id, user.nexus_id);
    res.status(204).end();
  });
  r.get('/users/:userId', async (req, res) => {
    const id = param(req, 'userId');
    const user = isSnowflake(id) ? await getUserById(ctx.db, id) : undefined;
    if (!user) throw apiError('unknownUser');
    res.json(renderUser(user));
  });
  return r;
}
