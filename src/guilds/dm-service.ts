import { randomBytes } from 'node:crypto';
import { ChannelKind, DM_CHANNEL, EventType, serverOf, type StoredEvent } from '../events/event-types.js';
import { getStateEvent, isJoined, membershipOf } from '../events/state-map.js';
import type { Db } from '../store/database.js';
import type { RoomWriter } from './room-writer.js';

/** How a DM reaches a user of another server (spec/federation.md, "Invites"). */
export interface DmFederation {
  /** Throws unless the other server knows the user (GET query/profile). */
  checkUser(userId: string): Promise<void>;
  /** Sends the invite with the DM's state; the other server joins its user before it answers. */
  invite(invite: StoredEvent, state: StoredEvent[]): Promise<void>;
}

/** The DM room of two users, if one exists (either may have created it). */
export async function findDmRoom(db: Db, a: string, b: string): Promise<string | undefined> {
  const row = await db.selectFrom('guilds')
    .innerJoin('members as ma', (j) => j.onRef('ma.room_id', '=', 'guilds.room_id').on('ma.user_id', '=', a))
    .innerJoin('members as mb', (j) => j.onRef('mb.room_id', '=', 'guilds.room_id').on('mb.user_id', '=', b))
    .select('guilds.room_id').where('guilds.kind', '=', 'dm').orderBy('guilds.id').limit(1).executeTakeFirst();
  return row?.room_id;
}

/**
 * Direct messages: a DM is a two-person room (rule 15) on the opener's server. With a
 * user of this server both join at once; with a user of another server, the opener's
 * invite goes to that server, which joins its user through make_join/send_join, so the DM
 * then replicates like any guild.
 */
export function createDmService(deps: { db: Db; writer: Pick<RoomWriter, 'submit' | 'stateOf'>; serverName: string; federation?: DmFederation; ensureUsers: (ids: string[]) => Promise<void> }) {
  const remote = (user: string) => serverOf(user) !== deps.serverName;

  /** Re-sends a pending invite: the other server may have been unreachable the first time. */
  async function inviteAgain(roomId: string, to: string): Promise<void> {
    const state = await deps.writer.stateOf(roomId);
    const invite = getStateEvent(state, EventType.Member, to);
    if (!deps.federation || !invite || membershipOf(state, to) !== 'invite') return;
    await deps.federation.invite(invite, [...state.values()].filter((e) => e !== invite));
  }

  return {
    /** Whether DMs with users of other servers are possible (federation is on). */
    federated: deps.federation !== undefined,

    /** The DM room of `from` (one of ours) and `to`, created if needed. Throws what the federation throws. */
    async open(from: string, to: string): Promise<string> {
      const existing = await findDmRoom(deps.db, from, to);
      if (existing) {
        if (remote(to) && !isJoined(await deps.writer.stateOf(existing), to)) await inviteAgain(existing, to);
        return existing;
      }
      if (remote(to)) {
        if (!deps.federation) throw new Error('federation is off');
        await deps.federation.checkUser(to);
        await deps.ensureUsers([to]);
      }
      const roomId = `!${randomBytes(12).toString('base64url')}:${deps.serverName}`;
      await deps.writer.submit(roomId, () => [
        { type: EventType.Create, state_key: '', sender: from, content: { creator: from, room_version: '1', kind: 'dm', participants: [from, to] } },
        { type: EventType.Member, state_key: from, sender: from, content: { membership: 'join' } },
        { type: EventType.Channel, state_key: DM_CHANNEL, sender: from, content: { name: 'dm', kind: ChannelKind.DM, position: 0 } },
        remote(to)
          ? { type: EventType.Member, state_key: to, sender: from, content: { membership: 'invite' } }
          : { type: EventType.Member, state_key: to, sender: to, content: { membership: 'join' } },
      ]);
      if (remote(to)) await inviteAgain(roomId, to);
      return roomId;
    },
  };
}

export type DmService = ReturnType<typeof createDmService>;
