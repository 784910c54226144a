import express, { type RequestHandler } from 'express';
import type { Metrics } from '../metrics.js';
import { httpMetricsMiddleware, metricsHandler } from '../metrics.js';
import type { ApiContext } from './context.js';
import { tokenFromAuthorization } from './auth-header.js';
import { domainErrorTranslator } from './domain-errors.js';
import { createErrorHandler, jsonBody, notFoundHandler } from './error-middleware.js';
import { apiError } from './errors.js';
import { createLoginRateLimit, createRouteRateLimit } from './rate-limit-middleware.js';
import { createRateLimiter, rateRulesFromConfig } from './rate-limit.js';
import { authRoutes } from './routes/auth.js';
import { directoryRoutes } from './routes/directory.js';
import { directoryPage } from './directory-page.js';
import { channelRoutes } from './routes/channels.js';
import { gatewayBotRoutes, gatewayRoutes } from './routes/gateway-info.js';
import { guildRoutes } from './routes/guilds.js';
import { inviteRoutes, publicInviteRoutes } from './routes/invites.js';
import { memberRoutes } from './routes/members.js';
import { messageRoutes } from './routes/messages.js';
import { roleRoutes } from './routes/roles.js';
import { userRoutes } from './routes/users.js';
import { dmRoutes } from './routes/dms.js';

/**
 * The HTTP surface of one homeserver: the Discord-shaped client API under /api/v10 (and
 * /api/v9, the same), plus /health and /metrics. Extra routers (the federation key
 * endpoint…) are mounted by the caller through `extra`.
 */
export function createHttpApp(ctx: ApiContext, deps: { metrics: Metrics; extra?: express.Router[] }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(httpMetricsMiddleware(deps.metrics));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', server_name: ctx.config.serverName });
  });
  app.get('/metrics', metricsHandler(deps.metrics));
  app.get('/directory', directoryPage(ctx.config.serverName));
  for (const router of deps.extra ?? []) app.use(router);

  const api = clientApi(ctx);
  app.use('/api/v10', api);
  app.use('/api/v9', api);
  app.use(notFoundHandler);
  app.use(domainErrorTranslator);
  app.use(createErrorHandler({ log: ctx.log }));
  return app;
}

function clientApi(ctx: ApiContext): express.Router {
  const limiter = createRateLimiter({ clock: ctx.clock, rules: rateRulesFromConfig({ disabled: !ctx.config.rateLimits }) });
  const api = express.Router();
  api.use(jsonBody({ limit: '256kb' }));

  // Public: no token needed.
  api.use(authRoutes(ctx, createLoginRateLimit({ limiter })));
  api.use(gatewayRoutes(ctx));
  api.use(publicInviteRoutes(ctx));
  api.use(directoryRoutes(ctx));

  // Everything below needs a valid token, and is rate limited per user and route.
  api.use(requireUser(ctx));
  api.use(createRouteRateLimit({ limiter, identify: (_req, res) => String(res.locals.user.id) }));
  for (const routes of [userRoutes, dmRoutes, guildRoutes, channelRoutes, messageRoutes, memberRoutes, roleRoutes, inviteRoutes, gatewayBotRoutes]) {
    api.use(routes(ctx));
  }
  api.use(notFoundHandler);
  return api;
}

/** Resolves `Authorization: <token> | Bot <token> | Bearer <token>` to the user, or 401. */
function requireUser(ctx: ApiContext): RequestHandler {
  return async (req, res, next) => {
    const token = tokenFromAuthorization(req.get('authorization'));
    const user = token ? await ctx.accounts.authenticate(token) : undefined;
    if (!user) return next(apiError('unauthorized'));
    res.locals.user = user;
    next();
  };
}
