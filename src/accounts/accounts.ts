import type { Clock } from '../clock.js';
import type { Db } from '../store/database.js';
import { getLocalUserByUsername, getUserByTokenHash, remoteProfileTimes, setLocalDisplayName, storeRemoteProfiles, type UserRow } from '../store/views/users.js';
import { hashPassword, verifyPasswordOrBurn, type ScryptCost } from './passwords.js';
import { hashToken, newToken } from './tokens.js';

export class UsernameTaken extends Error {}
export class InvalidLogin extends Error {}

/** Usernames: 2–32 of a-z 0-9 _ . - (Discord's pomelo rules, plus '-'); stored as typed, unique case-insensitively. */
export const USERNAME_PATTERN = /^[a-zA-Z0-9_.-]{2,32}$/;

/** Display names (Discord's `global_name`): 1–32 characters (code points) once trimmed. */
export const DISPLAY_NAME_MAX = 32;

/**
 * A display name as stored: trimmed; null for null. Undefined when `v` is not a valid one
 * (not a string, empty once trimmed, or too long): the API refuses it, and a peer's profile
 * that says so counts as having none.
 */
export function normalizeDisplayName(v: unknown): string | null | undefined {
  if (v === null) return null;
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  const n = [...t].length;
  return n >= 1 && n <= DISPLAY_NAME_MAX ? t : undefined;
}

/** How long a remote user's profile is trusted before it is asked again (when next seen). */
export const REMOTE_PROFILE_TTL_MS = 24 * 60 * 60_000;

/**
 * Local accounts: registration, login, and token lookup. Accounts are server-local identity,
 * not guild history, so they live outside the event log (and survive `nexus rebuild`).
 */
export interface AccountsDeps {
  db: Db;
  clock: Clock;
  serverName: string;
  newSnowflake: () => string;
  passwordCost?: ScryptCost;
  /**
   * Remote users seen whose profile was never learnt or is older than `profileTtlMs`: to be
   * asked of their servers in the background. Must return at once (it is called on the
   * append path of inbound events) and must de-duplicate (the same users recur).
   */
  wantProfiles?: (nexusIds: string[]) => void;
  profileTtlMs?: number;
  /** Users whose display name changed (a local rename, or a remote profile learnt): for fan-out. */
  onProfilesChanged?: (nexusIds: string[]) => void;
}

export function createAccounts(deps: AccountsDeps) {
  const { db, clock } = deps;
  // Token → user, for a minute: every API request authenticates, and a database round trip
  // per request is the largest fixed cost of a message. Tokens are never revoked today (no
  // logout route); when they are, revocation must clear this cache.
  const recent = new Map<string, { user: UserRow; until: number }>();
  const TOKEN_CACHE_MS = 60_000;
  const TOKEN_CACHE_MAX = 10_000;
  // Remote users known to have a row, with when their profile was learnt (0: never): every
  // inbound transaction names its senders, and user rows are never deleted, so a hit needs
  // no query. Only this process's own writes update it; a profile stored by another process
  // looks stale here, which costs one extra (de-duplicated) query, not a wrong name.
  const remoteKnown = new Map<string, number>();
  const REMOTE_KNOWN_MAX = 200_000;
  const profileTtlMs = deps.profileTtlMs ?? REMOTE_PROFILE_TTL_MS;
  const isStale = (profileTs: number) => clock.now() - profileTs >= profileTtlMs;

  async function issueToken(userId: string): Promise<string> {
    const token = newToken(userId);
    await db.insertInto('tokens').values({ token_hash: hashToken(token), user_id: userId, created_ts: clock.now() }).execute();
    return token;
  }

  return {
    async register(input: { username: string; password: string; bot?: boolean }): Promise<{ user: UserRow; token: string }> {
      const passwordHash = await hashPassword(input.password, { cost: deps.passwordCost });
      const id = deps.newSnowflake();
      const nexusId = `@${input.username.toLowerCase()}:${deps.serverName}`;
      const row = { id, nexus_id: nexusId, username: input.username, display_name: null, avatar: null, bot: input.bot === true, local: true, created_ts: clock.now() };
      try {
        await db.insertInto('users').values({ ...row, password_hash: passwordHash }).execute();
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new UsernameTaken();
        throw err;
      }
      return { user: row, token: await issueToken(id) };
    },

    /**
     * Gives users of other servers (seen in a federated guild or DM) a row here, with a
     * local snowflake, so they show up in member lists, messages and mentions like local
     * users (with their `@user:server` as nexus_id). Profiles are filled in later.
     */
    async ensureRemoteUsers(nexusIds: Iterable<string>): Promise<void> {
      const stale: string[] = [];
      const wanted: string[] = [];
      for (const id of new Set(nexusIds)) {
        if (!/^@[^:]+:.+$/.test(id) || id.endsWith(`:${deps.serverName}`)) continue;
        const profileTs = remoteKnown.get(id);
        if (profileTs === undefined) wanted.push(id);
        else if (isStale(profileTs)) stale.push(id);
      }
      // In slices: a join brings every member of a guild at once, and a statement takes at
      // most 65,535 parameters (9 per user row).
      for (let i = 0; i < wanted.length; i += 5000) {
        const slice = wanted.slice(i, i + 5000);
        const known = await remoteProfileTimes(db, slice);
        const rows = slice.filter((id) => !known.has(id)).map((id) => ({
          id: deps.newSnowflake(), nexus_id: id, username: id.slice(1, id.indexOf(':')), display_name: null, avatar: null,
          bot: false, local: false, password_hash: null, created_ts: clock.now(),
        }));
        if (rows.length > 0) await db.insertInto('users').values(rows).onConflict((oc) => oc.column('nexus_id').doNothing()).execute();
        if (remoteKnown.size + slice.length > REMOTE_KNOWN_MAX) remoteKnown.clear();
        for (const id of slice) {
          const profileTs = known.get(id) ?? 0;
          remoteKnown.set(id, profileTs);
          if (isStale(profileTs)) stale.push(id);
        }
      }
      if (stale.length > 0) deps.wantProfiles?.(stale);
    },

    /**
     * Stores remote users' display names as their servers gave them (query/profiles
     * answers, nexus.profile EDUs), learnt at `ts`; only users with a row here change. With
     * `unlessNewerThan` (an answer to a query asked then), a profile learnt since is kept.
     */
    async storeRemoteProfiles(profiles: ReadonlyMap<string, string | null>, ts: number, opts: { unlessNewerThan?: number } = {}): Promise<string[]> {
      const changed = await storeRemoteProfiles(db, profiles, ts, opts);
      for (const id of profiles.keys()) if (remoteKnown.has(id)) remoteKnown.set(id, Math.max(remoteKnown.get(id)!, ts));
      if (changed.length > 0) deps.onProfilesChanged?.(changed);
      return changed;
    },

    /** Sets one of our users' display name (already normalised; null clears it). */
    async setDisplayName(userId: string, displayName: string | null): Promise<UserRow | undefined> {
      const set = await setLocalDisplayName(db, userId, displayName);
      if (!set) return undefined;
      const { user } = set;
      // Cached token lookups would show the old name for up to a minute (this process's only).
      for (const entry of recent.values()) if (entry.user.id === user.id) entry.user = user;
      if (set.changed) deps.onProfilesChanged?.([user.nexus_id]);
      return user;
    },

    async login(login: string, password: string): Promise<{ user: UserRow; token: string }> {
      const found = await getLocalUserByUsername(db, login);
      // Burns the same scrypt time when the user does not exist, so timing reveals nothing.
      if (!(await verifyPasswordOrBurn(password, found?.password_hash)) || !found) throw new InvalidLogin();
      const { password_hash: _, ...user } = found;
      return { user, token: await issueToken(user.id) };
    },

    async authenticate(token: string): Promise<UserRow | undefined> {
      const key = hashToken(token);
      const hit = recent.get(key);
      if (hit && hit.until > clock.now()) return hit.user;
      const user = await getUserByTokenHash(db, key);
      if (user) {
        if (recent.size >= TOKEN_CACHE_MAX) recent.clear();
        recent.set(key, { user, until: clock.now() + TOKEN_CACHE_MS });
      }
      return user;
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
