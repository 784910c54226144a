import express, { type Router } from 'express';
import type { Clock } from '../../clock.js';
import { selectAuthEvents } from '../../events/auth-events.js';
import { EventType, serverOf, type StoredEvent } from '../../events/event-types.js';
import { addSignature, signCanonical } from '../../events/signing.js';
import { inspectPdu } from '../../events/finalize-event.js';
import type { SigningKey } from '../../events/signing-key.js';
import { isJoined, membershipOf } from '../../events/state-map.js';
import { authorizeEvent } from '../../events/auth-rules.js';
import { roomExists } from '../../store/append-events.js';
import type { RoomWriter } from '../../guilds/room-writer.js';
import { loadStateBefore } from '../../guilds/state-before.js';
import type { Db } from '../../store/database.js';
import type { StateStore } from '../../store/state-store.js';
import { INVITE_CODE, getInvite, incrementInviteUses, isInviteUsable, releaseInviteUse } from '../../store/views/invites.js';
import { getGuildByRoomId } from '../../store/views/guilds.js';
import { getChannelByKey } from '../../store/views/channels.js';
import { countMembers } from '../../store/views/members.js';
import { loadAuthChain } from '../read-endpoints/auth-chain-loader.js';
import { federationError } from '../errors.js';
import { FEDERATION_PATH_PREFIX, type FederationLocals } from '../request-auth-middleware.js';
import { checkPdu } from '../inbound/check-pdu.js';
import type { RemoteKeyStore } from '../remote-keys.js';

export interface ResidentJoinDeps {
  db: Db;
  clock: Clock;
  serverName: string;
  signingKey: () => SigningKey;
  writer: Pick<RoomWriter, 'stateOf' | 'headOf' | 'submitRemote'>;
  stateStore: StateStore;
  keys: RemoteKeyStore;
  ensureUsers: (ids: string[]) => Promise<void>;
}

/**
 * The resident server's half of a join (spec/federation.md, "Joining"): query/invite names
 * the guild of a code, make_join gives the joining server a template built on our forward
 * extremities (with the inviter as authorised_by when a code is used), and send_join takes
 * the signed join, counts the invite use and co-signs it (rule 3.1c wants the inviter's
 * server's signature), appends it, and answers with the state before it and its auth
 * chain. Without a code, the join must stand on the rules alone (an invite; a DM).
 */
export function residentJoinRouter(deps: ResidentJoinDeps): Router {
  const r = express.Router();
  const P = FEDERATION_PATH_PREFIX;
  const originOf = (res: express.Response) => (res.locals as FederationLocals).origin;

  async function usable(code: unknown) {
    if (typeof code !== 'string' || !INVITE_CODE.test(code)) throw federationError('N_INVALID_PARAM', 'code must be an invite code');
    const invite = await getInvite(deps.db, code);
    if (!invite || !isInviteUsable(invite, deps.clock.now())) throw federationError('N_NOT_FOUND', 'unknown or expired invite');
    return invite;
  }

  r.get(`${P}/query/invite`, async (req, res) => {
    const invite = await usable(req.query.code);
    const [guild, channel, members] = await Promise.all([
      getGuildByRoomId(deps.db, invite.room_id),
      getChannelByKey(deps.db, invite.room_id, invite.channel_key),
      countMembers(deps.db, invite.room_id),
    ]);
    res.json({
      room_id: invite.room_id, channel: invite.channel_key, inviter: invite.inviter, guild_name: guild?.name ?? '',
      // What a client shows before accepting (the invite's preview on the joining server).
      channel_name: channel?.name ?? '', channel_kind: channel?.kind ?? 0, member_count: members,
      expires_ts: invite.max_age === 0 ? null : Number(invite.created_ts) + invite.max_age * 1000,
    });
  });

  /** A join comes with an invite code, or without one when the rules admit the user anyway (an invite, a DM). */
  async function codeFor(req: express.Request, roomId: string) {
    if (req.query.code === undefined) return undefined;
    const invite = await usable(req.query.code);
    if (invite.room_id !== roomId) throw federationError('N_INVALID_PARAM', 'the invite is for another guild');
    return invite;
  }

  r.get(`${P}/make_join/:roomId/:userId`, async (req, res) => {
    const { roomId, userId } = req.params;
    const invite = await codeFor(req, roomId);
    if (!/^@[^:]+:.+$/.test(userId) || serverOf(userId) !== originOf(res)) throw federationError('N_FORBIDDEN', 'a server can only join its own users');
    if (!(await roomExists(deps.db, roomId))) throw federationError('N_NOT_FOUND', 'no such guild here');
    const state = await deps.writer.stateOf(roomId);
    if (membershipOf(state, userId) === 'ban') throw federationError('N_FORBIDDEN', 'the user is banned from this guild');
    const head = await deps.writer.headOf(roomId);
    const content = invite ? { membership: 'join', roles: [], authorised_by: invite.inviter } : { membership: 'join' };
    const event = {
      room_id: roomId, type: EventType.Member, state_key: userId, sender: userId, origin: serverOf(userId),
      origin_server_ts: deps.clock.now(), depth: head.depth + 1, prev_events: head.extremities,
      auth_events: selectAuthEvents(EventType.Member, userId, userId, content, state), content,
    };
    if (!invite) {
      // Without a code nobody vouches for the join: say now, not after a signed round trip, if the rules refuse it.
      const verdict = authorizeEvent({ ...event, hashes: { sha256: '' }, signatures: {} }, state);
      if (!verdict.ok) throw federationError('N_FORBIDDEN', `the user may not join: ${verdict.reason}`);
    }
    res.json({ event });
  });

  r.put(`${P}/send_join/:roomId/:eventId`, async (req, res) => {
    const { roomId, eventId } = req.params;
    const invite = await codeFor(req, roomId);
    const checked = await checkPdu(req.body, roomId, deps.keys, { notYetSignedBy: deps.serverName });
    if (!checked.ok) throw federationError('N_BAD_JSON', checked.reason);
    const { pdu } = checked.event;
    if (checked.event.event_id !== eventId) throw federationError('N_INVALID_PARAM', 'the event id does not match the event');
    if (checked.redacted || pdu.type !== EventType.Member || pdu.state_key !== pdu.sender || (pdu.content as { membership?: unknown }).membership !== 'join'
      || (pdu.content as { authorised_by?: unknown }).authorised_by !== invite?.inviter || pdu.origin !== originOf(res)) {
      throw federationError('N_BAD_JSON', invite ? 'not a join of a user of the sending server, authorised by the invite\'s inviter' : 'not a join of a user of the sending server');
    }
    // Co-sign a join through a code: the signature of the inviter's server vouches for the invite (rule 3.1c).
    const key = deps.signingKey();
    const signed: StoredEvent = invite
      ? { event_id: eventId, pdu: { ...pdu, signatures: addSignature(pdu.signatures, deps.serverName, key.keyId, signCanonical(inspectPdu(pdu).signingCanonical, key)) } }
      : checked.event;

    const already = isJoined(await deps.writer.stateOf(roomId), pdu.sender);
    const counted = invite !== undefined && !already;
    if (counted && !(await incrementInviteUses(deps.db, invite.code, deps.clock.now()))) throw federationError('N_NOT_FOUND', 'unknown or expired invite');
    await deps.ensureUsers([pdu.sender]);
    const verdict = (await deps.writer.submitRemote(roomId, { events: [signed] })).get(eventId);
    if (!verdict || (verdict.status !== 'accepted' && verdict.status !== 'duplicate')) {
      if (counted) await releaseInviteUse(deps.db, invite.code);
      throw federationError('N_FORBIDDEN', `the join was refused: ${verdict && 'reason' in verdict ? verdict.reason : verdict?.status ?? 'unknown'}`);
    }
    const before = await loadStateBefore(deps.stateStore, signed);
    if (!before) throw federationError('N_UNAVAILABLE', 'the state before the join is not known here');
    const state = [...before.values()];
    const stateIds = new Set(state.map((e) => e.event_id));
    const chain = (await loadAuthChain(deps.db, roomId, [...state, signed])).filter((e) => !stateIds.has(e.event_id));
    res.json({ event: signed.pdu, state: state.map((e) => e.pdu), auth_chain: chain.map((e) => e.pdu) });
  });

  return r;
}
