// op 6 RESUME: replay every dispatch after the client's seq, then RESUMED; the session
// continues on the new socket. Anything that makes that impossible → op 9 INVALID_SESSION
// (d: false), after which the client may identify on the same connection.
// Discord gateway docs: "Resuming", "Invalid Session".
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import { INVALID_SESSION_FRAME, tailBuffer } from './frame.js';
import type { GatewayContext } from './gateway-context.js';
import { isNonNegativeInt, isRecord, stripTokenPrefix } from './validate.js';

const RESUMED_TAIL = tailBuffer('RESUMED', '{}');

export async function handleResume(ctx: GatewayContext, conn: Connection, d: unknown): Promise<void> {
  if (!isRecord(d) || typeof d.token !== 'string' || typeof d.session_id !== 'string') {
    return conn.close(CloseCode.DecodeError, 'Invalid resume payload');
  }
  const seq = d.seq === null || d.seq === undefined ? 0 : d.seq;
  if (!isNonNegativeInt(seq)) return conn.close(CloseCode.DecodeError, 'Invalid resume seq');

  const identity = await ctx.backend.authenticate(stripTokenPrefix(d.token));
  if (conn.isClosed() || ctx.isClosed()) return;

  const session = ctx.registry.get(d.session_id);
  const sameUser = identity !== null && session !== undefined && session.userId === identity.user.id;
  if (!session || !sameUser || !session.canResumeFrom(seq)) {
    // A session whose gap can no longer be filled is useless: drop it unless a socket still uses it.
    if (session && sameUser && session.conn === null) ctx.registry.remove(session);
    ctx.counters.invalidSessions++;
    conn.state = 'hello';
    conn.send(INVALID_SESSION_FRAME);
    return;
  }

  const previous = session.conn;
  if (previous !== null && previous !== conn) previous.handOver();
  conn.attachSession(session);
  const replayed = session.replayAfter(seq);
  session.push(RESUMED_TAIL);
  ctx.counters.resumes++;
  ctx.log.debug({ sessionId: session.id, replayed }, 'gateway: session resumed');
}
