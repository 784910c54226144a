import type { Accounts } from '../accounts/accounts.js';
import { presentAllMembers, presentDm, presentGuildCreate } from '../api/presenters.js';
import { renderUser } from '../api/render/user.js';
import type { GatewayBackend } from '../gateway/gateway-types.js';
import type { Db } from '../store/database.js';
import { getGuildById, listDmRoomsForUser, listGuildsForUser } from '../store/views/guilds.js';
import { getMember } from '../store/views/members.js';
import { getUserById } from '../store/views/users.js';
import { listReadStates } from '../store/views/read-states.js';
import type { FanoutContext } from './fanout-context.js';
import type { PresenceService } from './presence.js';

/** What the gateway asks of the homeserver: who a token is, and the user's guilds. */
export function createGatewayBackend(deps: { db: Db; accounts: Accounts; fanout: FanoutContext; presence: PresenceService }): GatewayBackend {
  const { db } = deps;
  return {
    async authenticate(token) {
      const user = await deps.accounts.authenticate(token);
      if (!user) return null;
      // Every account is its own application (bots and users alike): READY needs one.
      return { user: { ...renderUser(user), verified: true, mfa_enabled: false }, applicationId: user.id };
    },

    async guildsFor(userId) {
      const user = await getUserById(db, userId);
      if (!user) return [];
      const guilds = await listGuildsForUser(db, user.nexus_id);
      return Promise.all(guilds.map(async (g) => {
        const created = await presentGuildCreate(db, g, user.nexus_id);
        return { ...created, presences: deps.presence.presencesOf(created.members) };
      }));
    },

    async requestGuildMembers(userId, guildId, query, limit, options) {
      const [user, guild] = await Promise.all([getUserById(db, userId), getGuildById(db, guildId)]);
      if (!user || !guild) return [];
      const mine = await getMember(db, guild.room_id, user.nexus_id);
      if (mine?.membership !== 'join') return [];
      const all = await presentAllMembers(db, guild);
      const q = query.toLowerCase();
      const wanted = options?.userIds ? new Set(options.userIds) : undefined;
      const found = all.filter((m) => (wanted ? wanted.has(m.user.id) : m.user.username.toLowerCase().startsWith(q) || (m.nick ?? '').toLowerCase().startsWith(q)));
      return (limit > 0 ? found.slice(0, limit) : found) as unknown as Record<string, unknown>[];
    },

    async privateChannels(userId) {
      const user = await getUserById(db, userId);
      if (!user) return [];
      const dms = await Promise.all((await listDmRoomsForUser(db, user.nexus_id)).map((room) => presentDm(db, room, user.nexus_id)));
      return dms.filter((d) => d !== undefined).map((d) => ({ ...d }));
    },

    async readStates(userId) {
      const user = await getUserById(db, userId);
      if (!user) return [];
      return (await listReadStates(db, user.nexus_id)).map((r) => ({ id: r.channelId, last_message_id: r.lastMessageId, mention_count: 0 }));
    },

    presenceChanged(userId, presence) {
      void (async () => {
        const user = await getUserById(db, userId);
        if (user) await deps.presence.changed(user.nexus_id, presence);
      })().catch(() => {});
    },
  };
}
