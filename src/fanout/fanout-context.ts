import { applyInPlace, stateMapKey, type StateMap } from '../events/state-map.js';
import { isStateEvent } from '../events/event-types.js';
import { loadRoomState } from '../store/append-events.js';
import type { LoggedEvent } from '../store/event-log.js';
import type { Dispatch } from '../gateway/gateway-types.js';
import type { RoomWriter } from '../guilds/room-writer.js';
import type { Db } from '../store/database.js';
import { getChannelByKey } from '../store/views/channels.js';
import { getGuildByRoomId, type GuildRow } from '../store/views/guilds.js';
import { listGuildRoles } from '../store/views/roles.js';
import { roleIdsByKey } from '../api/render/common.js';
import type { Audience } from './audience.js';

/** What the event → dispatch translators share: the database, audiences and small caches. */
export interface FanoutContext {
  db: Db;
  writer: RoomWriter;
  audience: Audience;
  publish(d: Dispatch): void;
  guild(roomId: string): Promise<GuildRow | undefined>;
  forgetGuild(roomId: string): void;
  channelId(roomId: string, channelKey: string): Promise<string | undefined>;
  roleIds(state: StateMap, guildId: string): Promise<Map<string, string>>;
  /**
   * A room's state as of the event being dispatched (or a little ahead): advanced by the
   * dispatcher itself as state events go by in log order, so it is never behind the event
   * at hand — unlike the room writer's cache, which a fast log reader can overtake.
   */
  stateFor(ev: LoggedEvent): Promise<StateMap>;
  /** Drops a room's state, to be reloaded from the views by the next stateFor. */
  forgetState(roomId: string): void;
  /**
   * Rereads a room's state from the views (after a resolution moved them slot by slot) and
   * returns it with the state held before, if any.
   */
  reloadState(roomId: string): Promise<{ before?: StateMap; after: StateMap }>;
  /** When a member joined (cached until their membership changes). */
  joinedTs(roomId: string, nexusId: string): Promise<number | undefined>;
  forgetMember(roomId: string, nexusId: string): void;
}

export function createFanoutContext(deps: { db: Db; writer: RoomWriter; audience: Audience; publish(d: Dispatch): void }): FanoutContext {
  const guilds = new Map<string, GuildRow>();
  const channelIds = new Map<string, string>(); // `${room}|${key}` → snowflake: fixed once created
  const roleIdCache = new WeakMap<StateMap, Map<string, string>>();
  const states = new Map<string, StateMap>();
  const joined = new Map<string, number | undefined>(); // `${room}|${user}`
  return {
    ...deps,
    async guild(roomId) {
      let g = guilds.get(roomId);
      if (!g) {
        g = await getGuildByRoomId(deps.db, roomId);
        if (g) guilds.set(roomId, g);
      }
      return g;
    },
    forgetGuild(roomId) {
      guilds.delete(roomId);
    },
    async channelId(roomId, channelKey) {
      const k = `${roomId}|${channelKey}`;
      let id = channelIds.get(k);
      if (!id) {
        id = (await getChannelByKey(deps.db, roomId, channelKey, { includeDeleted: true }))?.id;
        if (id) channelIds.set(k, id);
      }
      return id;
    },
    async stateFor(ev) {
      const roomId = ev.pdu.room_id;
      let state = states.get(roomId);
      if (!state) {
        // Loaded from the views: possibly ahead of `ev`, never behind it.
        state = await loadRoomState(deps.db, roomId);
        states.set(roomId, state);
      }
      if (isStateEvent(ev.pdu) && state.get(stateMapKey(ev.pdu.type, ev.pdu.state_key!))?.event_id !== ev.event_id) {
        // A new object, so caches keyed by the state (audiences, role ids) start afresh.
        const next = new Map(state);
        applyInPlace(next, ev);
        states.set(roomId, (state = next));
      }
      return state;
    },
    forgetState(roomId) {
      states.delete(roomId);
    },
    async reloadState(roomId) {
      const before = states.get(roomId);
      const after = await loadRoomState(deps.db, roomId);
      states.set(roomId, after);
      return { before, after };
    },
    async joinedTs(roomId, nexusId) {
      const k = `${roomId}|${nexusId}`;
      if (!joined.has(k)) {
        const row = await deps.db.selectFrom('members').select('joined_ts').where('room_id', '=', roomId).where('user_id', '=', nexusId).executeTakeFirst();
        joined.set(k, row?.joined_ts == null ? undefined : Number(row.joined_ts));
      }
      return joined.get(k);
    },
    forgetMember(roomId, nexusId) {
      joined.delete(`${roomId}|${nexusId}`);
    },
    async roleIds(state, guildId) {
      let ids = roleIdCache.get(state);
      if (!ids) roleIdCache.set(state, (ids = roleIdsByKey(await listGuildRoles(deps.db, guildId))));
      return ids;
    },
  };
}
