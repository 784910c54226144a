import { sql, type Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { UsersTable } from '../schema.js';

/** A user as the read side sees it: never the password hash (nor the profile's bookkeeping). */
export type UserRow = Omit<Selectable<UsersTable>, 'password_hash' | 'profile_ts'>;
export type UserWithPasswordRow = Selectable<UsersTable>;

const USER_COLUMNS = ['id', 'nexus_id', 'username', 'display_name', 'avatar', 'bot', 'local', 'created_ts'] as const;

export async function getUserById(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function getUserByNexusId(db: Db, nexusId: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').select(USER_COLUMNS).where('nexus_id', '=', nexusId).executeTakeFirst();
}

/**
 * Users by nexus id, in one query. Ids with no row (remote users this server has not seen
 * yet) are simply absent from the map; renderers fall back to a placeholder for them.
 */
export async function usersByNexusIds(db: Db, nexusIds: Iterable<string>): Promise<Map<string, UserRow>> {
  const ids = [...new Set(nexusIds)];
  const out = new Map<string, UserRow>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('users').select(USER_COLUMNS).where('nexus_id', 'in', ids).execute();
  for (const row of rows) out.set(row.nexus_id, row);
  return out;
}

/**
 * A local account by username, case-insensitively (the unique index is on lower(username)
 * for local users, so this is an index lookup). Includes the password hash: it is the
 * login lookup.
 */
export async function getLocalUserByUsername(db: Db, username: string): Promise<UserWithPasswordRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .where('local', '=', true)
    .executeTakeFirst();
}

/** The user a session/bot token (by its hash, see accounts/tokens.ts) belongs to. */
export async function getUserByTokenHash(db: Db, tokenHash: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('tokens')
    .innerJoin('users', 'users.id', 'tokens.user_id')
    .select(USER_COLUMNS.map((c) => `users.${c}` as const))
    .where('tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Sets a local user's display name (null clears it): the updated user, if there is one, and whether the name changed. */
export async function setLocalDisplayName(db: Db, id: string, displayName: string | null): Promise<{ user: UserRow; changed: boolean } | undefined> {
  // `old` is the same row read before the update: RETURNING sees both versions.
  const result = await sql<UserRow & { changed: boolean }>`
    UPDATE users AS u SET display_name = ${displayName}::text FROM users AS old
    WHERE u.id = ${id} AND old.id = u.id AND u.local
    RETURNING ${sql.join(USER_COLUMNS.map((c) => sql.ref(`u.${c}`)))}, (old.display_name IS DISTINCT FROM u.display_name) AS changed`.execute(db);
  const row = result.rows[0];
  if (!row) return undefined;
  const { changed, ...user } = row;
  return { user, changed };
}

/** The `profile_ts` of the remote users among `nexusIds` that have a row (absent: no row). */
export async function remoteProfileTimes(db: Db, nexusIds: readonly string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (nexusIds.length === 0) return out;
  const rows = await db.selectFrom('users').select(['nexus_id', 'profile_ts']).where('nexus_id', 'in', [...nexusIds]).execute();
  for (const r of rows) out.set(r.nexus_id, r.profile_ts == null ? null : Number(r.profile_ts));
  return out;
}

/**
 * Stores what remote users' servers said their display names are, learnt at `ts`, in one
 * statement. Only rows that exist and are remote change (a peer can't name our users, nor
 * make us record new ones). With `unlessNewerThan`, a row whose profile was learnt after
 * that moment is left alone: an answer to a query asked before a `nexus.profile` EDU
 * arrived must not undo it. Returns the users whose display name actually changed.
 */
export async function storeRemoteProfiles(db: Db, profiles: ReadonlyMap<string, string | null>, ts: number, opts: { unlessNewerThan?: number } = {}): Promise<string[]> {
  if (profiles.size === 0) return [];
  const values = sql.join([...profiles].map(([id, name]) => sql`(${id}::text, ${name}::text)`));
  const guard = opts.unlessNewerThan === undefined ? sql`` : sql`AND (u.profile_ts IS NULL OR u.profile_ts <= ${opts.unlessNewerThan})`;
  // `old` is the same row as `u` read before the update: RETURNING sees both versions.
  const result = await sql<{ nexus_id: string; changed: boolean }>`
    UPDATE users AS u SET display_name = v.name, profile_ts = ${ts}
    FROM (VALUES ${values}) AS v (nexus_id, name), users AS old
    WHERE u.nexus_id = v.nexus_id AND old.id = u.id AND NOT u.local ${guard}
    RETURNING u.nexus_id, (old.display_name IS DISTINCT FROM v.name) AS changed`.execute(db);
  return result.rows.filter((r) => r.changed).map((r) => r.nexus_id);
}

/** Which guilds (kind 'guild', not DMs) each of these users has joined: (room, user) pairs. */
export async function guildMembershipsOf(db: Db, nexusIds: readonly string[]): Promise<Array<{ room_id: string; user_id: string }>> {
  if (nexusIds.length === 0) return [];
  return db
    .selectFrom('members')
    .innerJoin('guilds', 'guilds.room_id', 'members.room_id')
    .select(['members.room_id', 'members.user_id'])
    .where('members.user_id', 'in', [...nexusIds])
    .where('members.membership', '=', 'join')
    .where('guilds.kind', '=', 'guild')
    .execute();
}

/**
 * The servers of everyone joined to a guild or DM that `nexusId` has joined (our own
 * server included): where news about the user (a new display name) must go.
 */
export async function serversSharingRoomsWith(db: Db, nexusId: string): Promise<string[]> {
  // The server of `@local:server` is everything after the first colon (serverOf).
  const rows = await db
    .selectFrom('members as mine')
    .innerJoin('members as other', 'other.room_id', 'mine.room_id')
    .select(sql<string>`substr(other.user_id, strpos(other.user_id, ':') + 1)`.as('server'))
    .distinct()
    .where('mine.user_id', '=', nexusId)
    .where('mine.membership', '=', 'join')
    .where('other.membership', '=', 'join')
    .execute();
  return rows.map((r) => r.server);
}
