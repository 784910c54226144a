import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { MembersTable } from '../schema.js';
import { clamp } from './paging.js';
import type { UserRow } from './users.js';

export type MemberRow = Selectable<MembersTable>;
export interface MemberWithUser {
  member: MemberRow;
  user: UserRow;
}
export interface MemberWithMaybeUser {
  member: MemberRow;
  user: UserRow | undefined;
}

/** The member row whatever its membership (join, invite, leave, ban); callers check it. */
export async function getMember(db: Db, roomId: string, nexusId: string): Promise<MemberRow | undefined> {
  return db.selectFrom('members').selectAll().where('room_id', '=', roomId).where('user_id', '=', nexusId).executeTakeFirst();
}

export interface MemberPage {
  limit?: number; // 1..1000, default 1 (Discord's defaults for List Guild Members)
  /** User snowflake: members whose user id is greater. */
  after?: string;
}

type JoinedRow = MemberRow & { u_id: string | null; u_nexus_id: string | null; u_username: string | null; u_display_name: string | null; u_avatar: string | null; u_bot: boolean | null; u_local: boolean | null; u_created_ts: string | number | null };

function split(row: JoinedRow): MemberWithMaybeUser {
  const { u_id, u_nexus_id, u_username, u_display_name, u_avatar, u_bot, u_local, u_created_ts, ...member } = row;
  const user = u_id === null
    ? undefined
    : { id: u_id, nexus_id: u_nexus_id!, username: u_username!, display_name: u_display_name, avatar: u_avatar, bot: u_bot === true, local: u_local === true, created_ts: u_created_ts! };
  return { member, user };
}

function withUser(db: Db) {
  return db
    .selectFrom('members')
    .leftJoin('users', 'users.nexus_id', 'members.user_id')
    .selectAll('members')
    .select([
      'users.id as u_id', 'users.nexus_id as u_nexus_id', 'users.username as u_username', 'users.display_name as u_display_name',
      'users.avatar as u_avatar', 'users.bot as u_bot', 'users.local as u_local', 'users.created_ts as u_created_ts',
    ]);
}

/**
 * Joined members in user-snowflake order (Discord's List Guild Members pages by user id).
 * Only members with a `users` row have a snowflake to page by, so members whose user this
 * server has never recorded are not listed: whoever learns of a remote user must upsert
 * it into `users` (local = false).
 */
export async function listMembers(db: Db, roomId: string, page: MemberPage = {}): Promise<MemberWithUser[]> {
  let q = withUser(db).where('members.room_id', '=', roomId).where('members.membership', '=', 'join').where('users.id', 'is not', null);
  if (page.after) q = q.where('users.id', '>', page.after);
  const rows = await q.orderBy('users.id').limit(clamp(page.limit ?? 1, 1, 1000)).execute();
  return rows.map((r) => split(r as JoinedRow) as MemberWithUser);
}

/** Joined members of these users (e.g. the mentioned users of a page of messages). */
export async function membersByNexusIds(db: Db, roomId: string, nexusIds: Iterable<string>): Promise<Map<string, MemberRow>> {
  const ids = [...new Set(nexusIds)];
  const out = new Map<string, MemberRow>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('members').selectAll().where('room_id', '=', roomId).where('user_id', 'in', ids).where('membership', '=', 'join').execute();
  for (const row of rows) out.set(row.user_id, row);
  return out;
}

export async function countMembers(db: Db, roomId: string): Promise<number> {
  const row = await db.selectFrom('members').select((eb) => eb.fn.countAll<string>().as('n')).where('room_id', '=', roomId).where('membership', '=', 'join').executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Banned members with their users where known (a remote user may have no `users` row). */
export async function listBans(db: Db, roomId: string): Promise<MemberWithMaybeUser[]> {
  const rows = await withUser(db).where('members.room_id', '=', roomId).where('members.membership', '=', 'ban').orderBy('members.user_id').execute();
  return rows.map((r) => split(r as JoinedRow));
}
