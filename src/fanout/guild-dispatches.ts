import { EventType, type MemberContent, type PinContent, type StoredEvent } from '../events/event-types.js';
import type { StateMap } from '../events/state-map.js';
import { Intent } from '../gateway/intents.js';
import { presentChannel, presentGuild, presentGuildCreate, presentMember } from '../api/presenters.js';
import { isoTime } from '../api/render/common.js';
import { renderRole } from '../api/render/role.js';
import { placeholderUser, renderUser } from '../api/render/user.js';
import { snowflakeFromLog } from '../snowflake.js';
import { previousStateEvent, type LoggedEvent } from '../store/event-log.js';
import { getChannelByKey } from '../store/views/channels.js';
import type { GuildRow } from '../store/views/guilds.js';
import { getRoleByKey } from '../store/views/roles.js';
import type { FanoutContext } from './fanout-context.js';

/** Dispatches for a state event: guild settings, channels, roles, members, overwrites, pins. */
export async function dispatchStateEvent(ctx: FanoutContext, ev: LoggedEvent, guild: GuildRow, state: StateMap, opts: SlotChange = {}): Promise<void> {
  const { pdu } = ev;
  const key = pdu.state_key!;
  const members = await ctx.audience.members(state);
  const toMembers = (t: string, d: Record<string, unknown>, intent: number = Intent.GUILDS) => ctx.publish({ t, d, intent, recipients: members, guildId: guild.id });

  switch (pdu.type) {
    case EventType.Settings:
      ctx.forgetGuild(pdu.room_id);
      toMembers('GUILD_UPDATE', { ...(await presentGuild(ctx.db, (await ctx.guild(pdu.room_id))!)) });
      return;

    case EventType.Channel: {
      const channel = await getChannelByKey(ctx.db, pdu.room_id, key, { includeDeleted: true });
      if (!channel) return;
      const d = { ...(await presentChannel(ctx.db, guild, channel)) };
      if (channel.deleted) return toMembers('CHANNEL_DELETE', d);
      const created = channel.id === snowflakeFromLog(ev.received_ts, ev.position);
      ctx.publish({ t: created ? 'CHANNEL_CREATE' : 'CHANNEL_UPDATE', d, intent: Intent.GUILDS, recipients: await ctx.audience.channelViewers(state, key), guildId: guild.id });
      return;
    }

    case EventType.Overwrite: {
      const channel = await getChannelByKey(ctx.db, pdu.room_id, (pdu.content as { channel: string }).channel);
      if (channel) toMembers('CHANNEL_UPDATE', { ...(await presentChannel(ctx.db, guild, channel)) });
      return;
    }

    case EventType.Role: {
      const role = await getRoleByKey(ctx.db, pdu.room_id, key);
      if (!role) {
        const gone = await ctx.db.selectFrom('roles').select('id').where('room_id', '=', pdu.room_id).where('role_key', '=', key).executeTakeFirst();
        if (gone) toMembers('GUILD_ROLE_DELETE', { guild_id: guild.id, role_id: gone.id });
        return;
      }
      const created = role.id === snowflakeFromLog(ev.received_ts, ev.position);
      toMembers(created ? 'GUILD_ROLE_CREATE' : 'GUILD_ROLE_UPDATE', { guild_id: guild.id, role: renderRole(role) });
      return;
    }

    case EventType.Member:
      return dispatchMembership(ctx, ev, guild, members, opts);

    case EventType.Pin: {
      const c = pdu.content as unknown as PinContent;
      const channelId = await ctx.channelId(pdu.room_id, c.channel);
      if (channelId) {
        ctx.publish({ t: 'CHANNEL_PINS_UPDATE', d: { guild_id: guild.id, channel_id: channelId, last_pin_timestamp: isoTime(pdu.origin_server_ts) }, intent: Intent.GUILDS, recipients: await ctx.audience.channelViewers(state, c.channel), guildId: guild.id });
      }
      return;
    }
  }
}

export interface SlotChange {
  /**
   * What held the slot before, as clients were shown it (null: nothing). By default the
   * slot's previous event in the log; a resolution says what it replaced.
   */
  previous?: StoredEvent | null;
}

/** Joins, leaves, kicks, bans and member updates, judged against the membership before. */
async function dispatchMembership(ctx: FanoutContext, ev: LoggedEvent, guild: GuildRow, members: Set<string>, opts: SlotChange): Promise<void> {
  const { pdu } = ev;
  const target = pdu.state_key!;
  ctx.forgetMember(pdu.room_id, target);
  const now = (pdu.content as unknown as MemberContent).membership;
  const previous = opts.previous !== undefined ? opts.previous : await previousStateEvent(ctx.db, pdu.room_id, EventType.Member, target, ev.position);
  const before = previous?.pdu.content as MemberContent | undefined;
  const was = before?.membership;
  const userRow = await ctx.audience.user(target);
  const user = userRow ? renderUser(userRow) : placeholderUser(target);
  const self = new Set(userRow ? [userRow.id] : []);
  const publish = (t: string, d: Record<string, unknown>, intent: number, recipients: ReadonlySet<string>) => ctx.publish({ t, d, intent, recipients, guildId: guild.id });

  if (now === 'join' && was !== 'join') {
    const member = await presentMember(ctx.db, guild, target);
    if (member) publish('GUILD_MEMBER_ADD', { ...member, guild_id: guild.id }, Intent.GUILD_MEMBERS, members);
    // Only our own users have gateway sessions here; a remote joiner's server tells them.
    if (userRow?.local) publish('GUILD_CREATE', { ...(await presentGuildCreate(ctx.db, guild, target)) }, Intent.GUILDS, self);
  } else if (now === 'join') {
    const member = await presentMember(ctx.db, guild, target);
    if (member) publish('GUILD_MEMBER_UPDATE', { guild_id: guild.id, ...member }, Intent.GUILD_MEMBERS, members);
  } else if (was === 'join') {
    publish('GUILD_MEMBER_REMOVE', { guild_id: guild.id, user }, Intent.GUILD_MEMBERS, members);
    publish('GUILD_DELETE', { id: guild.id }, Intent.GUILDS, self);
  }
  if (now === 'ban' && was !== 'ban') publish('GUILD_BAN_ADD', { guild_id: guild.id, user }, Intent.GUILD_MODERATION, members);
  if (was === 'ban' && now !== 'ban') publish('GUILD_BAN_REMOVE', { guild_id: guild.id, user }, Intent.GUILD_MODERATION, members);
}
