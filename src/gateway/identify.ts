// op 2 IDENTIFY → READY, then one GUILD_CREATE per guild of the session's shard.
// Discord gateway docs: "Identifying", "Ready", "Sharding", "Gateway Intents".
import { randomBytes } from 'node:crypto';
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import { tailBuffer } from './frame.js';
import type { GatewayContext } from './gateway-context.js';
import { ALL_INTENTS, isValidIntents, PRIVILEGED_INTENTS } from './intents.js';
import { ONLINE, parsePresence } from './presence.js';
import { Session } from './session.js';
import { inShard, parseShard, shardKey } from './shard.js';
import { isRecord, stripTokenPrefix } from './validate.js';

export async function handleIdentify(ctx: GatewayContext, conn: Connection, d: unknown): Promise<void> {
  if (!isRecord(d) || typeof d.token !== 'string') return conn.close(CloseCode.DecodeError, 'Invalid identify payload');
  if (d.intents !== undefined && !isValidIntents(d.intents)) return conn.close(CloseCode.InvalidIntents);
  const shard = parseShard(d.shard);
  if (shard === 'invalid') return conn.close(CloseCode.InvalidShard);
  const presence = d.presence === undefined || d.presence === null ? null : parsePresence(d.presence);
  if (d.presence != null && presence === null) return conn.close(CloseCode.DecodeError, 'Invalid identify presence');

  const identity = await ctx.backend.authenticate(stripTokenPrefix(d.token));
  if (conn.isClosed() || ctx.isClosed()) return;
  if (!identity) return conn.close(CloseCode.AuthenticationFailed);

  // v10 requires intents from bots; a (non-bot) user client gets everything, as Discord's own clients do.
  let intents: number;
  if (d.intents !== undefined) intents = d.intents as number;
  else if (identity.user.bot) return conn.close(CloseCode.InvalidIntents, 'Intents are required for bots');
  else intents = ALL_INTENTS;
  if (identity.allowedIntents !== undefined && (intents & PRIVILEGED_INTENTS & ~identity.allowedIntents) !== 0) {
    return conn.close(CloseCode.DisallowedIntents);
  }

  const session = new Session(
    randomBytes(16).toString('hex'),
    identity,
    intents,
    shard,
    presence ?? ONLINE,
    ctx.opts.maxBufferedDispatches,
    ctx.counters,
  );
  // Registered before guildsFor so dispatches published meanwhile queue in the session
  // (released after the GUILD_CREATEs) rather than being lost.
  ctx.registry.add(session, presence !== null);
  conn.session = session;
  session.attach(conn);
  ctx.counters.identifies++;

  const [guilds, readState, privateChannels] = await Promise.all([
    ctx.backend.guildsFor(session.userId),
    identity.user.bot ? undefined : ctx.backend.readStates?.(session.userId),
    ctx.backend.privateChannels?.(session.userId),
  ]);
  if (session.dropped || conn.isClosed() || ctx.isClosed()) return ctx.registry.remove(session);
  if (session.overflowed) return conn.close(CloseCode.UnknownError, 'Too many events during identify', true);

  const mine = guilds.filter((g) => inShard(shard, shardKey(String(g.id))));
  const ready: Record<string, unknown> = {
    v: conn.version,
    user: identity.user,
    guilds: mine.map((g) => ({ id: String(g.id), unavailable: true })),
    session_id: session.id,
    resume_gateway_url: ctx.opts.resumeGatewayUrl,
    // discord.js reads application.id/flags unconditionally (it crashes without them).
    application: { id: identity.applicationId, flags: 0 },
    user_settings: {},
    relationships: [],
    private_channels: privateChannels ?? [],
    presences: [],
    guild_join_requests: [],
  };
  // Users (not bots) get their read positions, as Discord's READY carries them.
  if (readState) ready.read_state = { version: 1, partial: false, entries: readState };
  if (shard) ready.shard = [shard[0], shard[1]];
  session.push(tailBuffer('READY', JSON.stringify(ready)));
  for (const g of mine) session.push(tailBuffer('GUILD_CREATE', JSON.stringify(g)));
  session.markReady();
  conn.state = 'ready';
}
