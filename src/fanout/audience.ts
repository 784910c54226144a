import { channelPermissions, has, Permission } from '../events/permissions.js';
import { joinedMembers, type StateMap } from '../events/state-map.js';
import type { Db } from '../store/database.js';
import { usersByNexusIds, type UserRow } from '../store/views/users.js';

/**
 * Who may see what: the user snowflakes of a guild's members, and of those who can view a
 * channel. Computed from a room state and cached against that state object (the room
 * writer replaces the object whenever the state changes), so a stream of messages in one
 * channel computes its audience once.
 */
export function createAudience(db: Db) {
  const users = new Map<string, UserRow>(); // nexus id → user row; its id never changes, its profile does (forgetUser)
  const cache = new WeakMap<StateMap, { members?: Set<string>; channels: Map<string, Set<string>> }>();

  async function load(nexusIds: string[]): Promise<Map<string, UserRow>> {
    const missing = nexusIds.filter((id) => !users.has(id));
    if (missing.length) for (const [id, row] of await usersByNexusIds(db, missing)) users.set(id, row);
    return users;
  }
  const idsOf = async (nexusIds: string[]) => {
    const rows = await load(nexusIds);
    return { get: (id: string) => rows.get(id)?.id };
  };

  function entry(state: StateMap) {
    let e = cache.get(state);
    if (!e) cache.set(state, (e = { channels: new Map() }));
    return e;
  }

  return {
    async members(state: StateMap): Promise<Set<string>> {
      const e = entry(state);
      if (!e.members) {
        const joined = joinedMembers(state);
        const ids = await idsOf(joined);
        e.members = new Set(joined.map((u) => ids.get(u)).filter((x): x is string => !!x));
      }
      return e.members;
    },

    async channelViewers(state: StateMap, channelKey: string): Promise<Set<string>> {
      const e = entry(state);
      let viewers = e.channels.get(channelKey);
      if (!viewers) {
        const joined = joinedMembers(state).filter((u) => has(channelPermissions(state, u, channelKey), Permission.VIEW_CHANNEL));
        const ids = await idsOf(joined);
        viewers = new Set(joined.map((u) => ids.get(u)).filter((x): x is string => !!x));
        e.channels.set(channelKey, viewers);
      }
      return viewers;
    },

    async user(nexusId: string): Promise<UserRow | undefined> {
      return (await load([nexusId])).get(nexusId);
    },

    async userId(nexusId: string): Promise<string | undefined> {
      return (await load([nexusId])).get(nexusId)?.id;
    },

    /** Drops a user's cached row (their display name changed): the next dispatch reads it afresh. */
    forgetUser(nexusId: string): void {
      users.delete(nexusId);
    },
  };
}

export type Audience = ReturnType<typeof createAudience>;
