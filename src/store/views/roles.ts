import type { Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { RolesTable } from '../schema.js';

export type RoleRow = Selectable<RolesTable>;

/** A guild's live roles (@everyone included), by position then id. */
export async function listGuildRoles(db: Db, guildId: string): Promise<RoleRow[]> {
  return db.selectFrom('roles').selectAll().where('guild_id', '=', guildId).where('deleted', '=', false).orderBy('position').orderBy('id').execute();
}

export async function getRoleById(db: Db, id: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('id', '=', id).where('deleted', '=', false).executeTakeFirst();
}

export async function getRoleByKey(db: Db, roomId: string, roleKey: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('room_id', '=', roomId).where('role_key', '=', roleKey).where('deleted', '=', false).executeTakeFirst();
}
