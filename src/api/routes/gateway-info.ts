import type { Router } from 'express';
import type { ApiContext } from '../context.js';
import { apiRouter } from './router.js';

/** GET /gateway: public. */
export function gatewayRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/gateway', (_req, res) => {
    res.json({ url: ctx.gatewayUrl() });
  });
  return r;
}

/** GET /gateway/bot: discord.js calls it at login and needs `url` and `session_start_limit`. */
export function gatewayBotRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/gateway/bot', (_req, res) => {
    res.json({
      url: ctx.gatewayUrl(),
      shards: 1,
      // Nexus does not limit identifies per day; these numbers tell clients they may connect.
      session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 },
    });
  });
  return r;
}
