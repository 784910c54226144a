import type { Clock } from '../clock.js';
import type { Db } from '../store/database.js';
import { getLocalUserByUsername, getUserByTokenHash, type UserRow } from '../store/views/users.js';
import { hashPassword, verifyPasswordOrBurn, type ScryptCost } from './passwords.js';
import { hashToken, newToken } from './tokens.js';

export class UsernameTaken extends Error {}
export class InvalidLogin extends Error {}

/** Usernames: 2–32 of a-z 0-9 _ . - (Discord's pomelo rules, plus '-'); stored as typed, unique case-insensitively. */
export const USERNAME_PATTERN = /^[a-zA-Z0-9_.-]{2,32}$/;

/**
 * Local accounts: registration, login, and token lookup. Accounts are server-local identity,
 * not guild history, so they live outside the event log (and survive `nexus rebuild`).
 */
export function createAccounts(deps: { db: Db; clock: Clock; serverName: string; newSnowflake: () => string; passwordCost?: ScryptCost }) {
  const { db, clock } = deps;
  // Token → user, for a minute: every API request authenticates, and a database round trip
  // per request is the largest fixed cost of a message. Tokens are never revoked today (no
  // logout route); when they are, revocation must clear this cache.
  const recent = new Map<string, { user: UserRow; until: number }>();
  const TOKEN_CACHE_MS = 60_000;
  const TOKEN_CACHE_MAX = 10_000;
  // Remote users known to have a row: every inbound transaction names its senders, and user
  // rows are never deleted, so a hit needs no query.
  const remoteKnown = new Set<string>();
  const REMOTE_KNOWN_MAX = 200_000;

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
      const wanted = [...new Set(nexusIds)].filter((id) => !remoteKnown.has(id) && /^@[^:]+:.+$/.test(id) && !id.endsWith(`:${deps.serverName}`));
      // In slices: a join brings every member of a guild at once, and a statement takes at
      // most 65,535 parameters (9 per user row).
      for (let i = 0; i < wanted.length; i += 5000) {
        const slice = wanted.slice(i, i + 5000);
        const known = new Set((await db.selectFrom('users').select('nexus_id').where('nexus_id', 'in', slice).execute()).map((r) => r.nexus_id));
        const rows = slice.filter((id) => !known.has(id)).map((id) => ({
          id: deps.newSnowflake(), nexus_id: id, username: id.slice(1, id.indexOf(':')), display_name: null, avatar: null,
          bot: false, local: false, password_hash: null, created_ts: clock.now(),
        }));
        if (rows.length > 0) await db.insertInto('users').values(rows).onConflict((oc) => oc.column('nexus_id').doNothing()).execute();
        if (remoteKnown.size + slice.length > REMOTE_KNOWN_MAX) remoteKnown.clear();
        for (const id of slice) remoteKnown.add(id);
      }
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
