import { serverOf } from '../events/event-types.js';
import { getChannel, isJoined } from '../events/state-map.js';
import { Intent } from '../gateway/intents.js';
import { presentMember } from '../api/presenters.js';
import { roomExists } from '../store/append-events.js';
import type { FanoutContext } from './fanout-context.js';

/** The typing EDU (spec/federation.md, "Ephemeral events"): `user_id` is typing in `channel` of `room_id`. */
export const TYPING_EDU = 'nexus.typing';

export interface TypingEdu {
  edu_type: typeof TYPING_EDU;
  content: { room_id: string; channel: string; user_id: string };
}

/**
 * Typing is ephemeral: never logged, shown as TYPING_START to whoever here can see the
 * channel, and passed as an EDU to the other servers in the room (best effort). The same
 * rendering serves our users (the REST route) and theirs (the EDU).
 */
export function createTyping(deps: { fanout: FanoutContext; now: () => number; sendEdu?: (roomId: string, edu: TypingEdu) => void }) {
  const { fanout } = deps;

  /** Publishes TYPING_START if `user` is joined and the channel exists; false otherwise. */
  async function show(roomId: string, channelKey: string, user: string): Promise<boolean> {
    const guild = await fanout.guild(roomId);
    if (!guild) return false;
    const state = await fanout.writer.stateOf(roomId);
    const channelId = await fanout.channelId(roomId, channelKey);
    const userId = await fanout.audience.userId(user);
    if (!isJoined(state, user) || !getChannel(state, channelKey) || !channelId || !userId) return false;
    const recipients = await fanout.audience.channelViewers(state, channelKey);
    const timestamp = Math.floor(deps.now() / 1000);
    if (guild.kind === 'dm') {
      fanout.publish({ t: 'TYPING_START', d: { channel_id: channelId, user_id: userId, timestamp }, intent: Intent.DIRECT_MESSAGE_TYPING, recipients });
    } else {
      // `member` (with its user) as Discord sends it: clients take the typist from it.
      const member = await presentMember(fanout.db, guild, user);
      fanout.publish({ t: 'TYPING_START', d: { channel_id: channelId, guild_id: guild.id, user_id: userId, timestamp, member }, intent: Intent.GUILD_MESSAGE_TYPING, recipients, guildId: guild.id });
    }
    return true;
  }

  return {
    /** One of our users started typing (the caller checked they may write there). */
    async started(roomId: string, channelKey: string, user: string): Promise<void> {
      if (await show(roomId, channelKey, user)) deps.sendEdu?.(roomId, { edu_type: TYPING_EDU, content: { room_id: roomId, channel: channelKey, user_id: user } });
    },

    /** A peer's typing EDU: shown only for a user of that peer, joined to a room we hold. */
    async received(origin: string, edu: { edu_type: string; content: object }): Promise<void> {
      if (edu.edu_type !== TYPING_EDU) return;
      const c = edu.content as Partial<TypingEdu['content']>;
      if (typeof c.room_id !== 'string' || typeof c.channel !== 'string' || typeof c.user_id !== 'string') return;
      if (!/^@[^:]+:.+$/.test(c.user_id) || serverOf(c.user_id) !== origin || !(await roomExists(fanout.db, c.room_id))) return;
      await show(c.room_id, c.channel, c.user_id);
    },
  };
}

export type Typing = ReturnType<typeof createTyping>;
