import type { Router } from 'express';
import { z } from 'zod';
import { localDirectory } from '../../federation/directory.js';
import { FederationRequestError } from '../../federation/errors.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { parseQuery, queryInt } from '../validate.js';
import { apiRouter } from './router.js';

const directoryQuery = z.object({
  server: z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/).optional(),
  q: z.string().max(100).optional(),
  limit: queryInt({ min: 1, max: 100, default: 50 }),
  after: z.string().regex(/^[0-9]{1,20}$/).optional(),
});

/**
 * GET /directory?server=&q=&limit=&after=: public guilds, this server's or (with `server`)
 * another's over federation. No login: the directory is public, like the page that shows it.
 */
export function directoryRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/directory', async (req, res) => {
    const { server, ...query } = parseQuery(directoryQuery, req.query);
    if (!server || server === ctx.config.serverName) return void res.json(await localDirectory(ctx.db, ctx.config.serverName, query));
    if (!ctx.remoteDirectory) throw new ApiError(404, 0, 'Federation is off on this server');
    try {
      res.json({ ...(await ctx.remoteDirectory(server, query)), server });
    } catch (err) {
      if (!(err instanceof FederationRequestError)) throw err;
      // "No response" and "a response said no" are told apart for the person browsing.
      const refused = err.kind === 'rejected';
      throw new ApiError(refused ? 403 : 502, 0, refused ? `${server} refused to share its directory (${err.errcode ?? err.status})` : `${server} could not be reached (${err.kind})`);
    }
  });
  return r;
}
