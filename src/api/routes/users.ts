import { apiRouter } from './router.js';
import { Router } from 'express';
import { z } from 'zod';
import { DISPLAY_NAME_MAX } from '../../accounts/accounts.js';
import { isSnowflake } from '../../snowflake.js';
import { listGuildsForUser } from '../../store/views/guilds.js';
import { getUserById } from '../../store/views/users.js';
import { guildAccess } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import { presentGuild } from '../presenters.js';
import { renderUser } from '../render/user.js';
import { basePermissions } from '../../events/permissions.js';
import { codePointLength, parseBody } from '../validate.js';
import type { UserRow } from '../../store/views/users.js';

/**
 * PATCH /users/@me: only `global_name` (the display name) for now: 1–32 characters once
 * trimmed, or null to clear it. Discord's other fields (username, avatar, banner) are
 * refused as unknown rather than silently ignored: nothing here could honour them.
 */
const patchMeBody = z.strictObject({
  global_name: z.string().trim().check((ctx) => {
    const n = codePointLength(ctx.value);
    if (n < 1) ctx.issues.push({ code: 'too_small', origin: 'string', minimum: 1, inclusive: true, input: ctx.value });
    if (n > DISPLAY_NAME_MAX) ctx.issues.push({ code: 'too_big', origin: 'string', maximum: DISPLAY_NAME_MAX, inclusive: true, input: ctx.value });
  }).nullable().optional(),
});

/** The current user as GET /users/@me shows them (more than another user's object). */
function renderMe(user: UserRow) {
  return { ...renderUser(user), verified: true, mfa_enabled: false, locale: 'en-US', email: null };
}

export function userRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/users/@me', (_req, res) => {
    res.json(renderMe(me(res)));
  });
  r.patch('/users/@me', async (req, res) => {
    const user = me(res);
    const body = parseBody(patchMeBody, req.body);
    if (body.global_name === undefined) return void res.json(renderMe(user));
    const updated = await ctx.accounts.setDisplayName(user.id, body.global_name);
    if (!updated) throw apiError('unknownUser');
    res.json(renderMe(updated));
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
