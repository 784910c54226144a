import { serverOf } from '../events/event-types.js';
import { Intent } from '../gateway/intents.js';
import { listGuildsForUser } from '../store/views/guilds.js';
import { serversSharingRoomsWith } from '../store/views/users.js';
import type { FanoutContext } from './fanout-context.js';

/** The presence EDU (spec/federation.md, "The `nexus.presence` EDU"). */
export const PRESENCE_EDU = 'nexus.presence';

export interface Activity {
  name: string;
  type: number;
  state?: string;
}

export interface PresenceEdu {
  edu_type: typeof PRESENCE_EDU;
  content: { user_id: string; status: 'online' | 'idle' | 'dnd' | 'offline'; activities: Activity[] };
}

const SHOWN: ReadonlySet<string> = new Set(['online', 'idle', 'dnd', 'offline']);
const MAX_ACTIVITIES = 10;
const MAX_TEXT = 128;

/** What others may see of an activity: its name, type and state, bounded. Anything else is dropped. */
function shownActivities(raw: unknown): Activity[] {
  if (!Array.isArray(raw)) return [];
  const out: Activity[] = [];
  for (const a of raw.slice(0, MAX_ACTIVITIES)) {
    if (typeof a !== 'object' || a === null) continue;
    const { name, type, state } = a as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_TEXT) continue;
    const activity: Activity = { name, type: Number.isInteger(type) && (type as number) >= 0 && (type as number) <= 6 ? (type as number) : 0 };
    if (typeof state === 'string' && state.length <= MAX_TEXT) activity.state = state;
    out.push(activity);
  }
  return out;
}

/**
 * Presence is ephemeral, like typing: never logged. A user's status is shown as
 * PRESENCE_UPDATE to the members here of each guild the user has joined, and a local
 * user's is passed as an EDU to every other server that shares a guild or DM with them
 * (best effort). Invisible shows as offline to everyone else, as on Discord.
 */
export function createPresence(deps: { fanout: FanoutContext; serverName: string; sendEdu?: (destination: string, edu: PresenceEdu) => void }) {
  const { fanout } = deps;
  // Who is not offline, as this process last heard (for GUILD_CREATE's `presences`).
  const current = new Map<string, { status: PresenceEdu['content']['status']; activities: Activity[] }>();

  async function show(nexusId: string, status: PresenceEdu['content']['status'], activities: Activity[]): Promise<void> {
    if (status === 'offline') current.delete(nexusId);
    else current.set(nexusId, { status, activities });
    const userId = await fanout.audience.userId(nexusId);
    if (!userId) return;
    for (const guild of await listGuildsForUser(fanout.db, nexusId)) {
      const state = await fanout.writer.stateOf(guild.room_id);
      fanout.publish({
        t: 'PRESENCE_UPDATE',
        d: { user: { id: userId }, guild_id: guild.id, status, activities, client_status: status === 'offline' ? {} : { web: status } },
        intent: Intent.GUILD_PRESENCES,
        recipients: await fanout.audience.members(state),
        guildId: guild.id,
      });
    }
  }

  return {
    /** GUILD_CREATE's `presences`: those of these members who are not offline. */
    presencesOf(members: ReadonlyArray<{ user: { id: string; nexus_id: string } }>): Array<Record<string, unknown>> {
      const out: Array<Record<string, unknown>> = [];
      for (const { user } of members) {
        const p = current.get(user.nexus_id);
        if (p) out.push({ user: { id: user.id }, status: p.status, activities: p.activities, client_status: { web: p.status } });
      }
      return out;
    },

    /** One of our users' presence changed (first session, op 3, last session gone). */
    async changed(nexusId: string, presence: { status: string; activities: unknown[] }): Promise<void> {
      const status = SHOWN.has(presence.status) ? (presence.status as PresenceEdu['content']['status']) : 'offline';
      const activities = status === 'offline' ? [] : shownActivities(presence.activities);
      await show(nexusId, status, activities);
      if (!deps.sendEdu) return;
      const edu: PresenceEdu = { edu_type: PRESENCE_EDU, content: { user_id: nexusId, status, activities } };
      for (const server of await serversSharingRoomsWith(fanout.db, nexusId)) if (server !== deps.serverName) deps.sendEdu(server, edu);
    },

    /** A peer's presence EDU: shown only for a user of that peer whom this server knows. */
    async received(origin: string, edu: { edu_type: string; content: object }): Promise<void> {
      if (edu.edu_type !== PRESENCE_EDU) return;
      const c = edu.content as Partial<PresenceEdu['content']>;
      if (typeof c.user_id !== 'string' || !/^@[^:]+:.+$/.test(c.user_id) || serverOf(c.user_id) !== origin) return;
      if (typeof c.status !== 'string' || !SHOWN.has(c.status)) return;
      await show(c.user_id, c.status as PresenceEdu['content']['status'], c.status === 'offline' ? [] : shownActivities(c.activities));
    },
  };
}

export type PresenceService = ReturnType<typeof createPresence>;
