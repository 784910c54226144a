import type { Clock } from '../../clock.js';
import { EventType, serverOf, type UnsignedPdu } from '../../events/event-types.js';
import { finalizeEvent } from '../../events/finalize-event.js';
import type { SigningKey } from '../../events/signing-key.js';
import type { RoomWriter } from '../../guilds/room-writer.js';
import type { FederationClient } from '../federation-client.js';
import type { RemoteKeyStore } from '../remote-keys.js';
import { FEDERATION_PATH_PREFIX as P } from '../request-auth-middleware.js';
import { checkPdu } from '../inbound/check-pdu.js';
import { byDepth, usersNamedBy } from '../inbound/receive-pdus.js';
import { verifyState } from '../inbound/verify-state.js';
import type { StoredEvent } from '../../events/event-types.js';
import type { Logger } from 'pino';
import type { HistoryBackfill } from '../history-backfill.js';

export interface RemoteJoinDeps {
  serverName: string;
  clock: Clock;
  signingKey: () => SigningKey;
  client: Pick<FederationClient, 'get' | 'request'>;
  keys: RemoteKeyStore;
  writer: Pick<RoomWriter, 'submitRemote'>;
  ensureUsers: (ids: string[]) => Promise<void>;
  log: Pick<Logger, 'warn'>;
  history: Pick<HistoryBackfill, 'begin' | 'older'>;
}

/** The resident server refused, or answered with something we can't trust. */
export class RemoteJoinError extends Error {}

/** Recent history fetched with the join, so the guild's channels aren't empty. */
const BACKFILL_ON_JOIN = 50;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What `server` says of one of its invite codes (query/invite): enough to preview and to join. */
export interface RemoteInvite {
  roomId: string;
  channelKey: string;
  guildName: string;
  channelName: string;
  channelKind: number;
  memberCount?: number;
  expiresTs: number | null;
}

/** Asks `server` about one of its invite codes; throws what the client throws, or RemoteJoinError for an answer that makes no sense. */
export async function queryRemoteInvite(client: Pick<FederationClient, 'get'>, code: string, server: string): Promise<RemoteInvite> {
  const info = await client.get<Record<string, unknown>>(server, `${P}/query/invite?code=${encodeURIComponent(code)}`);
  if (typeof info.room_id !== 'string' || typeof info.channel !== 'string' || serverOf(info.room_id) !== server) {
    throw new RemoteJoinError('the server named a guild that is not its own');
  }
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 100) : '');
  return {
    roomId: info.room_id,
    channelKey: info.channel,
    guildName: text(info.guild_name),
    channelName: text(info.channel_name),
    channelKind: Number.isSafeInteger(info.channel_kind) ? (info.channel_kind as number) : 0,
    memberCount: Number.isSafeInteger(info.member_count) ? (info.member_count as number) : undefined,
    expiresTs: Number.isSafeInteger(info.expires_ts) ? (info.expires_ts as number) : null,
  };
}

/**
 * Joins `userId` (one of ours) to a guild on `server` through an invite code (spec/
 * federation.md, "Joining"): asks which guild the code is for, then joins it.
 */
export async function joinRemoteGuild(deps: RemoteJoinDeps, code: string, server: string, userId: string): Promise<{ roomId: string; channelKey: string }> {
  const info = await queryRemoteInvite(deps.client, code, server);
  await joinRemoteRoom(deps, server, info.roomId, userId, code);
  return { roomId: info.roomId, channelKey: info.channelKey };
}

/**
 * Joins `userId` (one of ours) to `roomId` through `server`, a server in it: gets a join
 * template, signs the join, sends it, verifies the state and auth chain that come back
 * (signatures, hashes, auth rules) before trusting them, and appends the join on top of
 * that state through the same append path as everything else. Then fetches recent
 * history. Without `code`, the join must stand on the rules alone (an invite; a DM).
 */
export async function joinRemoteRoom(deps: RemoteJoinDeps, server: string, roomId: string, userId: string, code?: string): Promise<void> {
  const q = code === undefined ? '' : `?code=${encodeURIComponent(code)}`;
  const path = `${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`;
  const template = await deps.client.get<{ event?: unknown }>(server, `${P}/make_join/${path}${q}`);
  const t = template.event;
  if (!isRecord(t) || t.room_id !== roomId || t.type !== EventType.Member || t.state_key !== userId || t.sender !== userId
    || !isRecord(t.content) || t.content.membership !== 'join' || !Array.isArray(t.prev_events) || !Array.isArray(t.auth_events) || !Number.isSafeInteger(t.depth)) {
    throw new RemoteJoinError('the join template is not a join of this user');
  }
  const unsigned: UnsignedPdu = {
    room_id: roomId, type: EventType.Member, state_key: userId, sender: userId, origin: deps.serverName,
    origin_server_ts: deps.clock.now(), depth: t.depth as number,
    prev_events: t.prev_events as string[], auth_events: t.auth_events as string[], content: t.content,
  };
  const join = finalizeEvent(unsigned, deps.serverName, deps.signingKey());
  const answer = await deps.client.request<{ event?: unknown; state?: unknown; auth_chain?: unknown }>(server, 'PUT',
    `${P}/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(join.event_id)}${q}`, { body: join.pdu });

  const signed = await checkPdu(answer.event, roomId, deps.keys);
  if (!signed.ok || signed.event.event_id !== join.event_id || signed.redacted) throw new RemoteJoinError('the resident server sent back a different join');
  const verified = await verifyState(roomId, asArray(answer.state), asArray(answer.auth_chain), deps.keys);
  if (!verified.ok) throw new RemoteJoinError(`the resident server's state is not trustworthy: ${verified.reason}`);

  await deps.ensureUsers(usersNamedBy([...verified.events, signed.event]));
  const verdict = (await deps.writer.submitRemote(roomId, { events: [signed.event], outliers: verified.events, seedState: verified.state })).get(join.event_id);
  if (verdict?.status !== 'accepted' && verdict?.status !== 'duplicate') {
    throw new RemoteJoinError(`the join does not pass the auth rules on the state sent: ${verdict && 'reason' in verdict ? verdict.reason : verdict?.status}`);
  }
  await backfill(deps, server, roomId, signed.event);
}

/** Recent history before the join, the first page of the guild's backfill (history-backfill.ts). */
async function backfill(deps: RemoteJoinDeps, server: string, roomId: string, join: StoredEvent): Promise<void> {
  try {
    await deps.history.begin(roomId, join.event_id);
    if ((await deps.history.older(roomId, { server, limit: BACKFILL_ON_JOIN })) === 'failed') {
      deps.log.warn({ server, roomId }, 'could not fetch the history before a join');
    }
  } catch (err) {
    // History is a nicety: the join stands without it.
    deps.log.warn({ err, server, roomId }, 'could not fetch the history before a join');
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
