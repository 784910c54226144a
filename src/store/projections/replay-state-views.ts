import {
  EVERYONE_ROLE,
  EventType,
  type ChannelContent,
  type MemberContent,
  type OverwriteContent,
  type RoleContent,
  type SettingsContent,
} from '../../events/event-types.js';
import { snowflakeFromLog } from '../../snowflake.js';
import type { LoggedEvent } from '../event-log.js';
import { readStateRow } from './read-state-projection.js';
import { channelValues, guildRow, memberValues, overwriteValues, roleValues, settingsValues } from './guild-state-projection.js';

// The state-shaped views (room_state, guilds, channels, roles, members, overwrites) replayed
// in memory for `nexus rebuild`, and written once at the end. They are bounded by the size
// of the guilds' state, not by the length of the log, so memory stays small however long
// the log is. This mirrors projectGuildState (guild-state-projection.ts) statement by
// statement; test/store/rebuild.test.ts proves the two agree, so change them together.

/**
 * A map key for a tuple of column values, equal exactly when Postgres finds the tuples
 * equal: text equality under a deterministic collation is equality of the UTF-8 bytes, that
 * is of the JS strings, because the log holds no lone surrogates (canonicalJson refuses
 * them, so no such event can be hashed, signed or verified). NUL separates the parts: a
 * value with a NUL never reached a view (Postgres text refuses it, failing the live append).
 */
export function dbKey(...parts: string[]): string {
  return parts.join('\u0000');
}

/** Auth-checked content holds strings where keys are read; anything else matches no row (SQL `= NULL`). */
export function isText(x: unknown): x is string {
  return typeof x === 'string';
}

type GuildRow = ReturnType<typeof guildRow>;
export type ChannelRow = { id: string; room_id: string; channel_key: string; guild_id: string; last_message_id: string | null } & ReturnType<typeof channelValues>;
type RoleRow = { id: string; room_id: string; role_key: string; guild_id: string } & ReturnType<typeof roleValues>;
type MemberRow = { room_id: string; user_id: string; guild_id: string } & ReturnType<typeof memberValues>;
type OverwriteRow = { room_id: string; channel_key: string; target: string } & ReturnType<typeof overwriteValues>;
type RoomStateRow = { room_id: string; type: string; state_key: string; event_id: string };

export function createStateViews() {
  const roomState = new Map<string, RoomStateRow>();
  const guilds = new Map<string, GuildRow>(); // by room id
  const channels = new Map<string, ChannelRow>(); // by (room, channel key)
  const roles = new Map<string, RoleRow>(); // by (room, role key)
  const members = new Map<string, MemberRow>(); // by (room, user)
  const overwrites = new Map<string, OverwriteRow>(); // by (room, channel key, target)
  const accountRooms = new Set<string>(); // rooms created with kind 'account'
  const readStates = new Map<string, NonNullable<ReturnType<typeof readStateRow>>>(); // by (user, room, channel)

  /** As guildIdOf's executeTakeFirstOrThrow: the live append would have failed, so the log cannot hold this. */
  function guildIdOf(roomId: string): string {
    const guild = guilds.get(roomId);
    if (!guild) throw new Error(`rebuild: ${roomId} has no guild row before one of its state events`);
    return guild.id;
  }

  /** Applies a state event (all but a pin's effect on its message, which the message window owns). */
  function apply(ev: LoggedEvent): void {
    const { pdu } = ev;
    const roomId = pdu.room_id;
    const key = pdu.state_key!;
    const slot = dbKey(roomId, pdu.type, key);
    const held = roomState.get(slot);
    if (held) held.event_id = ev.event_id;
    else roomState.set(slot, { room_id: roomId, type: pdu.type, state_key: key, event_id: ev.event_id });

    // As projectEvent: an account room's events project to read_states only.
    if (pdu.type === EventType.Create && (pdu.content as { kind?: unknown }).kind === 'account') accountRooms.add(roomId);
    if (accountRooms.has(roomId)) {
      const row = readStateRow(ev);
      if (row) readStates.set(dbKey(row.user_id, row.room_id, row.channel_key), row);
      return;
    }
    switch (pdu.type) {
      case EventType.Create: {
        if (!guilds.has(roomId)) guilds.set(roomId, guildRow(ev, snowflakeFromLog(ev.received_ts, ev.position)));
        return;
      }
      case EventType.Settings: {
        const guild = guilds.get(roomId);
        if (guild) Object.assign(guild, settingsValues(pdu.content as unknown as SettingsContent));
        return;
      }
      case EventType.Channel: {
        const guildId = guildIdOf(roomId);
        const values = channelValues(pdu.content as unknown as ChannelContent);
        const k = dbKey(roomId, key);
        const row = channels.get(k);
        if (row) Object.assign(row, values);
        else channels.set(k, { id: snowflakeFromLog(ev.received_ts, ev.position), room_id: roomId, channel_key: key, guild_id: guildId, last_message_id: null, ...values });
        return;
      }
      case EventType.Role: {
        const guildId = guildIdOf(roomId);
        const values = roleValues(pdu.content as unknown as RoleContent);
        const k = dbKey(roomId, key);
        const row = roles.get(k);
        if (row) Object.assign(row, values);
        else {
          // Discord's convention: the @everyone role's id is the guild's id.
          const id = key === EVERYONE_ROLE ? guildId : snowflakeFromLog(ev.received_ts, ev.position);
          roles.set(k, { id, room_id: roomId, role_key: key, guild_id: guildId, ...values });
        }
        return;
      }
      case EventType.Member: {
        const guildId = guildIdOf(roomId);
        const k = dbKey(roomId, key);
        const before = members.get(k);
        const values = memberValues(pdu.content as unknown as MemberContent, before, pdu.origin_server_ts);
        if (before) Object.assign(before, values);
        else members.set(k, { room_id: roomId, user_id: key, guild_id: guildId, ...values });
        return;
      }
      case EventType.Overwrite: {
        const c = pdu.content as unknown as OverwriteContent;
        if (!isText(c.channel) || !isText(c.target)) {
          if (c.deleted) return; // DELETE … WHERE channel_key = NULL deletes nothing
          throw new Error(`rebuild: overwrite ${ev.event_id} has no channel or target (the live append would have failed)`);
        }
        const k = dbKey(roomId, c.channel, c.target);
        if (c.deleted) {
          overwrites.delete(k);
          return;
        }
        const values = overwriteValues(c);
        const row = overwrites.get(k);
        if (row) Object.assign(row, values);
        else overwrites.set(k, { room_id: roomId, channel_key: c.channel, target: c.target, ...values });
        return;
      }
    }
  }

  /** The channel row a message in `channelKey` lands in (deleted channels included, as in SQL). */
  function channel(roomId: string, channelKey: unknown): ChannelRow | undefined {
    return isText(channelKey) ? channels.get(dbKey(roomId, channelKey)) : undefined;
  }

  /** Every row, by table, for the final write. */
  function tables(): Array<[string, Array<Record<string, unknown>>]> {
    return [
      ['room_state', [...roomState.values()]],
      ['guilds', [...guilds.values()]],
      ['channels', [...channels.values()]],
      ['roles', [...roles.values()]],
      ['members', [...members.values()]],
      ['overwrites', [...overwrites.values()]],
      ['read_states', [...readStates.values()]],
    ];
  }

  return { apply, channel, tables };
}

export type StateViews = ReturnType<typeof createStateViews>;
