// op 8 REQUEST_GUILD_MEMBERS → GUILD_MEMBERS_CHUNK dispatches (1000 members per chunk, as
// Discord does). discord.js waits until chunk_index + 1 === chunk_count, so at least one
// chunk is always sent, even when the backend cannot answer.
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import { tailBuffer } from './frame.js';
import type { GatewayContext } from './gateway-context.js';
import type { Session } from './session.js';
import { isNonNegativeInt, isRecord, stringOrStrings } from './validate.js';

export const MEMBERS_PER_CHUNK = 1000;

export async function handleRequestGuildMembers(
  ctx: GatewayContext,
  conn: Connection,
  session: Session,
  d: unknown,
): Promise<void> {
  if (!isRecord(d)) return conn.close(CloseCode.DecodeError, 'Invalid request guild members payload');
  const guildIds = stringOrStrings(d.guild_id);
  const query = d.query ?? '';
  const limit = d.limit ?? 0;
  const userIds = d.user_ids === undefined ? undefined : stringOrStrings(d.user_ids);
  if (!guildIds || guildIds.length === 0 || typeof query !== 'string' || !isNonNegativeInt(limit) || userIds === null) {
    return conn.close(CloseCode.DecodeError, 'Invalid request guild members payload');
  }
  const presences = d.presences === true;
  // Discord drops nonces longer than 32 bytes.
  const nonce = typeof d.nonce === 'string' && Buffer.byteLength(d.nonce) <= 32 ? d.nonce : undefined;

  for (const guildId of guildIds) {
    const members = ctx.backend.requestGuildMembers
      ? await ctx.backend.requestGuildMembers(session.userId, guildId, query, limit, { userIds, presences })
      : [];
    if (session.dropped || ctx.isClosed()) return;
    const chunkCount = Math.max(1, Math.ceil(members.length / MEMBERS_PER_CHUNK));
    for (let i = 0; i < chunkCount; i++) {
      const chunk: Record<string, unknown> = {
        guild_id: guildId,
        members: members.slice(i * MEMBERS_PER_CHUNK, (i + 1) * MEMBERS_PER_CHUNK),
        chunk_index: i,
        chunk_count: chunkCount,
      };
      if (i === chunkCount - 1 && userIds) {
        const found = new Set(members.map((m) => String((m.user as { id?: unknown } | undefined)?.id)));
        chunk.not_found = userIds.filter((id) => !found.has(id));
      }
      if (presences) chunk.presences = [];
      if (nonce !== undefined) chunk.nonce = nonce;
      session.push(tailBuffer('GUILD_MEMBERS_CHUNK', JSON.stringify(chunk)));
    }
  }
}
