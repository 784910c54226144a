// What a display-name change sets off. Profiles are account data, not guild history, so no
// log event carries them: the change is announced here directly, when it is stored.
//
// - the user's own sessions (a local user): USER_UPDATE, as Discord sends it;
// - every guild here the user is joined to: GUILD_MEMBER_UPDATE to its members (discord.js
//   takes the new user from it), whether the user is ours or another server's;
// - every other server sharing a guild or DM with a local user: a `nexus.profile` EDU.
import { renderMember } from '../api/render/member.js';
import { roleIdsByKey } from '../api/render/common.js';
import { renderUser } from '../api/render/user.js';
import { profileEdu, type ProfileEdu } from '../federation/profile-edu.js';
import { Intent } from '../gateway/intents.js';
import { membersByNexusIds } from '../store/views/members.js';
import { listGuildRoles } from '../store/views/roles.js';
import { guildMembershipsOf, serversSharingRoomsWith, usersByNexusIds, type UserRow } from '../store/views/users.js';
import type { FanoutContext } from './fanout-context.js';

export interface ProfileDispatchDeps {
  fanout: FanoutContext;
  serverName: string;
  /** Queues an EDU for one server (the federation sender; absent without federation). */
  sendEdu?: (destination: string, edu: ProfileEdu) => void;
}

export function createProfileDispatches(deps: ProfileDispatchDeps) {
  const { fanout, serverName } = deps;
  const { db } = fanout;

  /** GUILD_MEMBER_UPDATE for each of these users in each guild they have joined. */
  async function memberUpdates(users: Map<string, UserRow>): Promise<void> {
    const byRoom = new Map<string, string[]>();
    for (const m of await guildMembershipsOf(db, [...users.keys()])) {
      const list = byRoom.get(m.room_id);
      if (list) list.push(m.user_id);
      else byRoom.set(m.room_id, [m.user_id]);
    }
    for (const [roomId, ids] of byRoom) {
      const guild = await fanout.guild(roomId);
      if (!guild || guild.kind !== 'guild') continue;
      // A few lookups per guild whatever the number of users: a big join's profiles
      // arrive a thousand at a time.
      const [members, roles, state] = await Promise.all([membersByNexusIds(db, roomId, ids), listGuildRoles(db, guild.id), fanout.writer.stateOf(roomId)]);
      const roleIds = roleIdsByKey(roles);
      const recipients = await fanout.audience.members(state);
      for (const [id, member] of members) {
        const d = { guild_id: guild.id, ...renderMember(member, users.get(id), roleIds) };
        fanout.publish({ t: 'GUILD_MEMBER_UPDATE', d, intent: Intent.GUILD_MEMBERS, recipients, guildId: guild.id });
      }
    }
  }

  return {
    /** These users' display names changed (stored already): tell whoever should know. */
    async changed(nexusIds: readonly string[]): Promise<void> {
      for (const id of nexusIds) fanout.audience.forgetUser(id);
      const users = await usersByNexusIds(db, nexusIds);
      for (const user of users.values()) {
        if (!user.local) continue;
        // The object GET /users/@me answers, as READY's `user` is.
        const d = { ...renderUser(user), verified: true, mfa_enabled: false };
        fanout.publish({ t: 'USER_UPDATE', d, intent: 0, recipients: new Set([String(user.id)]) });
      }
      await memberUpdates(users);
      if (!deps.sendEdu) return;
      for (const user of users.values()) {
        if (!user.local) continue; // only a user's own server speaks for them
        const edu = profileEdu(user);
        for (const server of await serversSharingRoomsWith(db, user.nexus_id)) if (server !== serverName) deps.sendEdu(server, edu);
      }
    },
  };
}

export type ProfileDispatches = ReturnType<typeof createProfileDispatches>;
