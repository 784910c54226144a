import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { GuildsTable } from '../schema.js';
import { clamp } from './paging.js';

export type GuildRow = Selectable<GuildsTable>;
export type DirectoryGuildRow = GuildRow & { member_count: number };

const GUILD_COLUMNS = ['guilds.id', 'guilds.room_id', 'guilds.kind', 'guilds.owner', 'guilds.name', 'guilds.description', 'guilds.icon', 'guilds.discoverable', 'guilds.created_ts'] as const;

export async function getGuildById(db: Db, id: string): Promise<GuildRow | undefined> {
  return db.selectFrom('guilds').select(GUILD_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function getGuildByRoomId(db: Db, roomId: string): Promise<GuildRow | undefined> {
  return db.selectFrom('guilds').select(GUILD_COLUMNS).where('room_id', '=', roomId).executeTakeFirst();
}

/**
 * The guilds (kind 'guild', not DMs) a user has joined, oldest guild first. Invited, left
 * and banned memberships don't count.
 */
export async function listGuildsForUser(db: Db, nexusId: string): Promise<GuildRow[]> {
  return db
    .selectFrom('members')
    .innerJoin('guilds', 'guilds.room_id', 'members.room_id')
    .select(GUILD_COLUMNS)
    .where('members.user_id', '=', nexusId)
    .where('members.membership', '=', 'join')
    .where('guilds.kind', '=', 'guild')
    .orderBy('guilds.id')
    .execute();
}

/** The DM rooms a user has joined, oldest first. */
export async function listDmRoomsForUser(db: Db, nexusId: string): Promise<string[]> {
  const rows = await db.selectFrom('guilds').innerJoin('members', 'members.room_id', 'guilds.room_id')
    .select('guilds.room_id').where('guilds.kind', '=', 'dm').where('members.user_id', '=', nexusId)
    .where('members.membership', '=', 'join').orderBy('guilds.id').execute();
  return rows.map((r) => r.room_id);
}

export interface DirectoryQuery {
  /** Case-insensitive substring of the name or description. */
  q?: string;
  limit?: number; // 1..100, default 50
  /** Guild snowflake: page after this one (ids ascend). */
  after?: string;
}

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Discoverable guilds for the public directory, with their joined member counts. */
export async function listDiscoverableGuilds(db: Db, query: DirectoryQuery = {}): Promise<DirectoryGuildRow[]> {
  const limit = clamp(query.limit ?? 50, 1, 100);
  let q = db
    .selectFrom('guilds')
    .select(GUILD_COLUMNS)
    .select((eb) =>
      eb
        .selectFrom('members')
        .select((m) => m.fn.countAll<string>().as('n'))
        .whereRef('members.room_id', '=', 'guilds.room_id')
        .where('members.membership', '=', 'join')
        .as('member_count'),
    )
    .where('guilds.discoverable', '=', true)
    .where('guilds.kind', '=', 'guild');
  if (query.after) q = q.where('guilds.id', '>', query.after);
  if (query.q && query.q.trim() !== '') {
    const pattern = likePattern(query.q.trim());
    q = q.where((eb) => eb.or([eb('guilds.name', 'ilike', pattern), eb('guilds.description', 'ilike', pattern)]));
  }
  const rows = await q.orderBy('guilds.id').limit(limit).execute();
  return rows.map((r) => ({ ...r, member_count: Number(r.member_count ?? 0) }));
}
