import {
  EVERYONE_ROLE,
  EventType,
  type ChannelContent,
  type CreateContent,
  type MemberContent,
  type OverwriteContent,
  type PinContent,
  type RoleContent,
  type SettingsContent,
} from '../../events/event-types.js';
import { snowflakeFromLog } from '../../snowflake.js';
import type { Db } from '../database.js';
import type { LoggedEvent } from '../event-log.js';

/** Projects a state event into guilds / channels / roles / members / overwrites / pins. */
export async function projectGuildState(trx: Db, ev: LoggedEvent): Promise<void> {
  const { pdu } = ev;
  const roomId = pdu.room_id;
  const key = pdu.state_key!;
  const id = snowflakeFromLog(ev.received_ts, ev.position);
  switch (pdu.type) {
    case EventType.Create: {
      await trx.insertInto('guilds').values(guildRow(ev, id)).onConflict((oc) => oc.column('room_id').doNothing()).execute();
      return;
    }
    case EventType.Settings: {
      const c = pdu.content as unknown as SettingsContent;
      await trx.updateTable('guilds').set(settingsValues(c)).where('room_id', '=', roomId).execute();
      return;
    }
    case EventType.Channel: {
      const c = pdu.content as unknown as ChannelContent;
      const guildId = await guildIdOf(trx, roomId);
      const values = channelValues(c);
      await trx.insertInto('channels').values({ id, room_id: roomId, channel_key: key, guild_id: guildId, last_message_id: null, ...values })
        .onConflict((oc) => oc.columns(['room_id', 'channel_key']).doUpdateSet(values)).execute();
      return;
    }
    case EventType.Role: {
      const c = pdu.content as unknown as RoleContent;
      const guildId = await guildIdOf(trx, roomId);
      // Discord's convention: the @everyone role's id is the guild's id.
      const roleId = key === EVERYONE_ROLE ? guildId : id;
      const values = roleValues(c);
      await trx.insertInto('roles').values({ id: roleId, room_id: roomId, role_key: key, guild_id: guildId, ...values })
        .onConflict((oc) => oc.columns(['room_id', 'role_key']).doUpdateSet(values)).execute();
      return;
    }
    case EventType.Member: {
      const c = pdu.content as unknown as MemberContent;
      const guildId = await guildIdOf(trx, roomId);
      const before = await trx.selectFrom('members').select(['membership', 'joined_ts']).where('room_id', '=', roomId).where('user_id', '=', key).executeTakeFirst();
      const values = memberValues(c, before, pdu.origin_server_ts);
      await trx.insertInto('members').values({ room_id: roomId, user_id: key, guild_id: guildId, ...values })
        .onConflict((oc) => oc.columns(['room_id', 'user_id']).doUpdateSet(values)).execute();
      return;
    }
    case EventType.Overwrite: {
      const c = pdu.content as unknown as OverwriteContent;
      if (c.deleted) {
        await trx.deleteFrom('overwrites').where('room_id', '=', roomId).where('channel_key', '=', c.channel).where('target', '=', c.target).execute();
        return;
      }
      const values = overwriteValues(c);
      await trx.insertInto('overwrites').values({ room_id: roomId, channel_key: c.channel, target: c.target, ...values })
        .onConflict((oc) => oc.columns(['room_id', 'channel_key', 'target']).doUpdateSet(values)).execute();
      return;
    }
    case EventType.Pin: {
      const c = pdu.content as unknown as PinContent;
      await trx.updateTable('messages').set({ pinned: c.pinned === true }).where('event_id', '=', key).where('room_id', '=', roomId).execute();
      return;
    }
  }
}

// The column values each state event writes, shared with the rebuild's in-memory replay
// (replay-state-views.ts) so that both paths write exactly the same values.

export function guildRow(ev: LoggedEvent, id: string) {
  const c = ev.pdu.content as unknown as CreateContent;
  return { id, room_id: ev.pdu.room_id, kind: c.kind, owner: c.creator, name: '', description: null, icon: null, discoverable: false, created_ts: ev.pdu.origin_server_ts };
}

export function settingsValues(c: SettingsContent) {
  return { name: c.name ?? '', description: c.description ?? null, icon: c.icon ?? null, discoverable: c.discoverable === true };
}

export function channelValues(c: ChannelContent) {
  return { name: c.name, kind: c.kind, topic: c.topic ?? null, position: c.position, parent_key: c.parent ?? null, nsfw: c.nsfw === true, deleted: c.deleted === true };
}

export function roleValues(c: RoleContent) {
  return { name: c.name, permissions: c.permissions, position: c.position, color: c.color ?? 0, hoist: c.hoist === true, mentionable: c.mentionable === true, deleted: c.deleted === true };
}

/** `before` is the member's row before this event, if any: a join keeps the first join's time. */
export function memberValues(c: MemberContent, before: { membership: string; joined_ts: number | string | null } | undefined, originServerTs: number) {
  const joinedTs = c.membership !== 'join' ? null : before?.membership === 'join' ? before.joined_ts : originServerTs;
  return { membership: c.membership, nick: c.nick ?? null, roles: JSON.stringify(c.membership === 'join' ? c.roles ?? [] : []), joined_ts: joinedTs };
}

export function overwriteValues(c: OverwriteContent) {
  return { kind: c.kind, allow: c.allow, deny: c.deny };
}

async function guildIdOf(trx: Db, roomId: string): Promise<string> {
  const row = await trx.selectFrom('guilds').select('id').where('room_id', '=', roomId).executeTakeFirstOrThrow();
  return row.id;
}
