import express, { type Router } from 'express';
import { EventType, serverOf, type CreateContent, type StoredEvent } from '../../events/event-types.js';
import { inspectPdu } from '../../events/finalize-event.js';
import { addSignature, signCanonical } from '../../events/signing.js';
import type { SigningKey } from '../../events/signing-key.js';
import { isJoined } from '../../events/state-map.js';
import type { RoomWriter } from '../../guilds/room-writer.js';
import { roomExists } from '../../store/append-events.js';
import type { Db } from '../../store/database.js';
import { getUserByNexusId } from '../../store/views/users.js';
import { federationError } from '../errors.js';
import type { FederationClient } from '../federation-client.js';
import { checkPdu } from '../inbound/check-pdu.js';
import type { RemoteKeyStore } from '../remote-keys.js';
import { FEDERATION_PATH_PREFIX as P, type FederationLocals } from '../request-auth-middleware.js';

/** The largest room state an invite may carry (a DM's is four events). */
const MAX_INVITE_STATE = 20;

/**
 * The inviter's half (spec/federation.md, "Invites"): the invite, already in the room, goes
 * to the invitee's server with the room's state, so that server can tell what it is asked
 * to join. A 200 means it has joined its user; the co-signed event it returns is not needed.
 */
export async function sendInvite(client: Pick<FederationClient, 'request'>, invite: StoredEvent, state: StoredEvent[]): Promise<void> {
  const { room_id: roomId, state_key: invitee } = invite.pdu;
  await client.request(serverOf(invitee!), 'PUT', `${P}/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(invite.event_id)}`, {
    body: { event: invite.pdu, room_state: state.slice(0, MAX_INVITE_STATE).map((e) => e.pdu) },
  });
}

export interface InviteRouterDeps {
  db: Db;
  serverName: string;
  signingKey: () => SigningKey;
  keys: RemoteKeyStore;
  writer: Pick<RoomWriter, 'stateOf'>;
  /** Joins our user to the room through the inviting server (joinRemoteRoom, without a code). */
  join(server: string, roomId: string, userId: string): Promise<void>;
}

/**
 * The invitee's half: `PUT invite/{roomId}/{eventId}` with `{event, room_state}`. Only DMs
 * are accepted (no client can hold a pending guild invite yet): a DM is joined at once,
 * as Discord's DMs need no accepting, and the answer is the invite co-signed by us.
 */
export function inviteRouter(deps: InviteRouterDeps): Router {
  const r = express.Router();
  r.put(`${P}/invite/:roomId/:eventId`, async (req, res) => {
    const { roomId, eventId } = req.params;
    const origin = (res.locals as FederationLocals).origin;
    const body = req.body as { event?: unknown; room_state?: unknown } | undefined;
    const checked = await checkPdu(body?.event, roomId, deps.keys);
    if (!checked.ok) throw federationError('N_BAD_JSON', checked.reason);
    const { pdu } = checked.event;
    const invitee = pdu.state_key;
    if (checked.event.event_id !== eventId || checked.redacted || pdu.type !== EventType.Member || (pdu.content as { membership?: unknown }).membership !== 'invite'
      || pdu.origin !== origin || typeof invitee !== 'string') {
      throw federationError('N_BAD_JSON', 'not an invite sent by the requesting server');
    }
    const user = serverOf(invitee) === deps.serverName ? await getUserByNexusId(deps.db, invitee) : undefined;
    if (!user?.local) throw federationError('N_NOT_FOUND', 'no such user here');
    const create = await inviteRoomCreate(body?.room_state, roomId, deps.keys);
    const participants: readonly string[] = create?.kind === 'dm' && Array.isArray(create.participants) ? create.participants : [];
    if (!participants.includes(invitee) || !participants.includes(pdu.sender) || serverOf(roomId) !== origin) {
      throw federationError('N_FORBIDDEN', 'this server accepts invites to DMs on the inviter\'s server only');
    }
    const joined = (await roomExists(deps.db, roomId)) && isJoined(await deps.writer.stateOf(roomId), invitee);
    if (!joined) await deps.join(origin, roomId, invitee);
    const key = deps.signingKey();
    res.json({ event: { ...pdu, signatures: addSignature(pdu.signatures, deps.serverName, key.keyId, signCanonical(inspectPdu(pdu).signingCanonical, key)) } });
  });
  return r;
}

/** The create event among the invite's room state, if it is there and signed by its origin. */
async function inviteRoomCreate(raw: unknown, roomId: string, keys: RemoteKeyStore): Promise<CreateContent | undefined> {
  if (!Array.isArray(raw) || raw.length > MAX_INVITE_STATE) throw federationError('N_BAD_JSON', `room_state must be a list of at most ${MAX_INVITE_STATE} events`);
  for (const ev of raw) {
    const checked = await checkPdu(ev, roomId, keys);
    if (checked.ok && !checked.redacted && checked.event.pdu.type === EventType.Create) return checked.event.pdu.content as unknown as CreateContent;
  }
  return undefined;
}
