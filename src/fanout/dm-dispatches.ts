import { DM_CHANNEL, EventType, type MemberContent } from '../events/event-types.js';
import { dmParticipants, isJoined, type StateMap } from '../events/state-map.js';
import { presentDmChannel } from '../api/presenters.js';
import type { LoggedEvent } from '../store/event-log.js';
import { getChannelByKey } from '../store/views/channels.js';
import type { GuildRow } from '../store/views/guilds.js';
import type { FanoutContext } from './fanout-context.js';

/**
 * State events of a DM room, as Discord shows DMs: no guild events at all, only a
 * CHANNEL_CREATE (type 1) for each participant once the channel exists and they have
 * joined. It lets a client (discord.js without the Channel partial) cache the DM before
 * its first MESSAGE_CREATE arrives.
 */
export async function dispatchDmStateEvent(ctx: FanoutContext, ev: LoggedEvent, guild: GuildRow, state: StateMap): Promise<void> {
  const { pdu } = ev;
  const participants = dmParticipants(state) ?? [];
  let joiners: string[] = [];
  if (pdu.type === EventType.Channel && pdu.state_key === DM_CHANNEL) joiners = participants.filter((u) => isJoined(state, u));
  else if (pdu.type === EventType.Member && (pdu.content as unknown as MemberContent).membership === 'join') joiners = [pdu.state_key!];
  if (joiners.length === 0) return;
  const channel = await getChannelByKey(ctx.db, pdu.room_id, DM_CHANNEL);
  if (!channel) return;
  for (const user of joiners) {
    const id = await ctx.audience.userId(user);
    if (!id) continue;
    const d = await presentDmChannel(ctx.db, guild, channel, participants, user);
    ctx.publish({ t: 'CHANNEL_CREATE', d: { ...d }, intent: 0, recipients: new Set([id]) });
  }
}
