// The `nexus.profile` EDU (spec/federation.md, "Ephemeral events"): a user's server tells
// the servers it shares guilds and DMs with that the user's profile changed, so a rename
// shows there at once rather than when the profile is next asked for (a day later).
import { normalizeDisplayName } from '../accounts/accounts.js';
import { serverOf } from '../events/event-types.js';
import type { Edu } from './sender/transaction.js';

export const PROFILE_EDU = 'nexus.profile';

export interface ProfileEdu {
  edu_type: typeof PROFILE_EDU;
  content: { user_id: string; displayname: string | null; avatar_url: string | null };
}

export function profileEdu(user: { nexus_id: string; display_name: string | null; avatar: string | null }): ProfileEdu {
  return { edu_type: PROFILE_EDU, content: { user_id: user.nexus_id, displayname: user.display_name, avatar_url: user.avatar } };
}

/**
 * The user and new display name a peer's `nexus.profile` EDU states, or undefined when it
 * must be ignored: malformed, about a user of another server than the sender's, or with a
 * display name that is not one (not null, or not 1–32 characters once trimmed).
 */
export function readProfileEdu(origin: string, edu: Edu): { userId: string; displayName: string | null } | undefined {
  if (edu.edu_type !== PROFILE_EDU) return undefined;
  const c = edu.content as Partial<ProfileEdu['content']>;
  if (typeof c.user_id !== 'string' || !/^@[^:]+:.+$/.test(c.user_id) || serverOf(c.user_id) !== origin) return undefined;
  const displayName = normalizeDisplayName(c.displayname);
  return displayName === undefined ? undefined : { userId: c.user_id, displayName };
}

/**
 * Receives a peer's EDU: stores the name for a remote user already known here (`store` is
 * accounts.storeRemoteProfiles, which changes existing remote rows only and fans out).
 */
export async function receiveProfileEdu(
  origin: string,
  edu: Edu,
  deps: { now: () => number; store: (profiles: Map<string, string | null>, ts: number) => Promise<unknown> },
): Promise<void> {
  const read = readProfileEdu(origin, edu);
  if (read) await deps.store(new Map([[read.userId, read.displayName]]), deps.now());
}
