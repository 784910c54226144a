import { z } from 'zod';
import type { Router } from 'express';
import { serverOf } from '../../events/event-types.js';
import { FederationRequestError } from '../../federation/errors.js';
import { isSnowflake } from '../../snowflake.js';
import { listDmRoomsForUser } from '../../store/views/guilds.js';
import { getUserById, getUserByNexusId } from '../../store/views/users.js';
import { me, type ApiContext } from '../context.js';
import { ApiError, apiError } from '../errors.js';
import { presentDm } from '../presenters.js';
import { parseBody } from '../validate.js';
import { apiRouter } from './router.js';

const openDmBody = z.object({ recipient_id: z.string().min(1).max(300) });
const USER_ID = /^@[^:@\s]+:[^\s]+$/;

/** Direct messages: `POST /users/@me/channels` opens one (with a local or a remote user), `GET` lists them. */
export function dmRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.post('/users/@me/channels', async (req, res) => {
    const user = me(res);
    const { recipient_id: recipient } = parseBody(openDmBody, req.body);
    const to = await recipientNexusId(ctx, recipient);
    if (to === user.nexus_id) throw apiError('cannotSendToUser');
    let roomId: string;
    try {
      roomId = await ctx.dms.open(user.nexus_id, to);
    } catch (err) {
      if (!(err instanceof FederationRequestError)) throw err;
      const server = to.slice(to.indexOf(':') + 1);
      if (err.kind === 'rejected' && err.status === 404) throw apiError('unknownUser');
      if (err.kind === 'rejected') throw new ApiError(403, 50007, `${server} refused the DM: ${err.message}`);
      throw new ApiError(502, 0, `${server} could not be reached (${err.kind}); try again later`);
    }
    const dm = await presentDm(ctx.db, roomId, user.nexus_id);
    if (!dm) throw apiError('unknownChannel');
    res.json(dm);
  });

  r.get('/users/@me/channels', async (_req, res) => {
    const user = me(res);
    const dms = await Promise.all((await listDmRoomsForUser(ctx.db, user.nexus_id)).map((room) => presentDm(ctx.db, room, user.nexus_id)));
    res.json(dms.filter((d) => d !== undefined));
  });

  return r;
}

/** A recipient named by a local snowflake or by `@user:server`. */
async function recipientNexusId(ctx: ApiContext, recipient: string): Promise<string> {
  if (isSnowflake(recipient)) {
    const row = await getUserById(ctx.db, recipient);
    if (!row) throw apiError('unknownUser');
    return row.nexus_id;
  }
  if (!USER_ID.test(recipient)) throw apiError('unknownUser');
  if (serverOf(recipient) === ctx.config.serverName) {
    const row = await getUserByNexusId(ctx.db, recipient);
    if (!row) throw apiError('unknownUser');
    return row.nexus_id;
  }
  if (!ctx.dms.federated) throw new ApiError(404, 10013, 'Unknown User (federation is off on this server)');
  return recipient;
}
