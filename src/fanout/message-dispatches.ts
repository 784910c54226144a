import { EventType, type MessageContent, type ReactionContent, type RedactionContent } from '../events/event-types.js';
import { getMember, type StateMap } from '../events/state-map.js';
import { Intent } from '../gateway/intents.js';
import { presentMessage, presentNewMessage } from '../api/presenters.js';
import { messageRowFromEvent } from '../store/projections/message-row.js';
import { isoTime } from '../api/render/common.js';
import { memberRoleIds } from '../api/render/member.js';
import { renderEmoji } from '../api/render/message.js';
import { placeholderUser, renderUser } from '../api/render/user.js';
import { snowflakeFromLog } from '../snowflake.js';
import { getLoggedEvent, type LoggedEvent } from '../store/event-log.js';
import { getMessageByEventId } from '../store/views/messages.js';
import type { GuildRow } from '../store/views/guilds.js';
import type { FanoutContext } from './fanout-context.js';

/** MESSAGE_CREATE / UPDATE / DELETE and reactions, for one logged event. */
export async function dispatchMessageEvent(ctx: FanoutContext, ev: LoggedEvent, guild: GuildRow, state: StateMap): Promise<void> {
  const { pdu } = ev;
  const channelKey = (pdu.content as { channel?: unknown }).channel;
  if (typeof channelKey !== 'string') return;
  const channelId = await ctx.channelId(pdu.room_id, channelKey);
  if (!channelId) return;
  const recipients = await ctx.audience.channelViewers(state, channelKey);
  // A DM has no guild: its dispatches carry no guild_id or member, need the DIRECT_ intents,
  // and show content to both participants whatever their MESSAGE_CONTENT intent (Discord's rule).
  const dm = guild.kind === 'dm';
  const guildId = dm ? undefined : guild.id;
  const messagesIntent = dm ? Intent.DIRECT_MESSAGES : Intent.GUILD_MESSAGES;
  const reactionsIntent = dm ? Intent.DIRECT_MESSAGE_REACTIONS : Intent.GUILD_MESSAGE_REACTIONS;
  const base = dm ? { channel_id: channelId } : { channel_id: channelId, guild_id: guild.id };
  const member = async (user: string) => (dm ? {} : { member: await partialMember(ctx, state, guild, user) });

  switch (pdu.type) {
    case EventType.Message: {
      const c = pdu.content as unknown as MessageContent;
      const author = await ctx.audience.user(pdu.sender);
      const row = messageRowFromEvent(ev, channelId);
      const message = author ? await presentNewMessage(ctx.db, guild, row, author) : await presentMessage(ctx.db, guild, row);
      const contentVisibleTo = new Set<string>(dm ? recipients : []);
      for (const u of [pdu.sender, ...(c.mentions ?? [])]) {
        const id = await ctx.audience.userId(u);
        if (id) contentVisibleTo.add(id);
      }
      ctx.publish({
        t: 'MESSAGE_CREATE',
        d: { ...message, ...(await member(pdu.sender)) },
        intent: messagesIntent, recipients, guildId, contentVisibleTo,
      });
      return;
    }
    case EventType.Edit: {
      const row = await getMessageByEventId(ctx.db, (pdu.content as { target: string }).target);
      if (!row || row.author !== pdu.sender) return;
      const message = await presentMessage(ctx.db, guild, row);
      const contentVisibleTo = new Set<string>(dm ? recipients : []);
      for (const u of [row.author, ...row.mentions]) {
        const id = await ctx.audience.userId(u);
        if (id) contentVisibleTo.add(id);
      }
      ctx.publish({ t: 'MESSAGE_UPDATE', d: message as unknown as Record<string, unknown>, intent: messagesIntent, recipients, guildId, contentVisibleTo });
      return;
    }
    case EventType.Reaction: {
      const c = pdu.content as unknown as ReactionContent;
      const target = await getLoggedEvent(ctx.db, c.target);
      const userId = await ctx.audience.userId(pdu.sender);
      if (!target || !userId) return;
      ctx.publish({
        t: 'MESSAGE_REACTION_ADD',
        // Unlike MESSAGE_CREATE's, this `member` carries its `user` (Discord's docs): discord.js
        // takes the reactor from it and drops the event when the user is not already cached.
        d: { ...base, user_id: userId, message_id: snowflakeFromLog(target.received_ts, target.position), emoji: renderEmoji(c.emoji), burst: false, type: 0, ...(dm ? {} : { member: { ...(await partialMember(ctx, state, guild, pdu.sender)), user: await userObject(ctx, pdu.sender) } }) },
        intent: reactionsIntent, recipients, guildId,
      });
      return;
    }
    case EventType.Redaction: {
      const c = pdu.content as unknown as RedactionContent;
      const target = await getLoggedEvent(ctx.db, c.redacts);
      if (!target) return;
      if (target.pdu.type === EventType.Message) {
        // Only if the projection accepted the redaction (the message is gone from the view).
        if (await getMessageByEventId(ctx.db, target.event_id)) return;
        ctx.publish({ t: 'MESSAGE_DELETE', d: { ...base, id: snowflakeFromLog(target.received_ts, target.position) }, intent: messagesIntent, recipients, guildId });
      } else if (target.pdu.type === EventType.Reaction) {
        const r = target.pdu.content as unknown as ReactionContent;
        const message = await getLoggedEvent(ctx.db, r.target);
        const userId = await ctx.audience.userId(target.pdu.sender);
        const still = await ctx.db.selectFrom('reactions').select('event_id').where('event_id', '=', target.event_id).executeTakeFirst();
        if (!message || !userId || still) return;
        ctx.publish({
          t: 'MESSAGE_REACTION_REMOVE',
          d: { ...base, user_id: userId, message_id: snowflakeFromLog(message.received_ts, message.position), emoji: renderEmoji(r.emoji), burst: false, type: 0 },
          intent: reactionsIntent, recipients, guildId,
        });
      }
      return;
    }
  }
}

async function userObject(ctx: FanoutContext, nexusId: string) {
  const row = await ctx.audience.user(nexusId);
  return row ? renderUser(row) : placeholderUser(nexusId);
}

/** The `member` Discord attaches to guild MESSAGE_CREATE and reactions (no `user`). */
async function partialMember(ctx: FanoutContext, state: StateMap, guild: GuildRow, user: string) {
  const m = getMember(state, user);
  const roles = memberRoleIds(m?.roles ?? [], await ctx.roleIds(state, guild.id));
  const joinedTs = await ctx.joinedTs(guild.room_id, user);
  return { roles, nick: m?.nick ?? null, avatar: null, joined_at: isoTime(joinedTs ?? guild.created_ts), deaf: false, mute: false, flags: 0, pending: false, premium_since: null, communication_disabled_until: null };
}
