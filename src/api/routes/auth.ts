import { Router } from 'express';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../accounts/passwords.js';
import { USERNAME_PATTERN } from '../../accounts/accounts.js';
import type { ApiContext } from '../context.js';
import { parseBody } from '../validate.js';

const registerBody = z.object({
  username: z.string().regex(USERNAME_PATTERN),
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
  bot: z.boolean().optional(),
});

const loginBody = z.object({
  login: z.string().min(1).max(64),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

/** POST /auth/register and /auth/login (the login route is rate limited by the app). */
export function authRoutes(ctx: ApiContext, loginLimit: import('express').RequestHandler): Router {
  const r = Router();
  r.post('/auth/register', loginLimit, async (req, res) => {
    const body = parseBody(registerBody, req.body);
    const { user, token } = await ctx.accounts.register(body);
    ctx.log.info({ user: user.nexus_id }, 'registered');
    res.status(201).json({ token, user_id: user.id });
  });
  r.post('/auth/login', loginLimit, async (req, res) => {
    const body = parseBody(loginBody, req.body);
    const { user, token } = await ctx.accounts.login(body.login, body.password);
    res.json({ token, user_id: user.id });
  });
  return r;
}
