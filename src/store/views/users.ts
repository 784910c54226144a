import { sql, type Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { UsersTable } from '../schema.js';

/** A user as the read side sees it: never the password hash. */
export type UserRow = Omit<Selectable<UsersTable>, 'password_hash'>;
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
