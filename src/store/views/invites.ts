import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../database.js';
import type { InvitesTable } from '../schema.js';

// Invites are local identity, not a projection: an invite code is this server's shortcut
// to a guild (the join it authorises is what enters the log), so they are written here.

export type InviteRow = Selectable<InvitesTable>;
export type NewInvite = Omit<Insertable<InvitesTable>, 'uses'>;

/** What an invite code looks like (what createInvite makes). */
export const INVITE_CODE = /^[A-Za-z0-9]{1,32}$/;

export async function getInvite(db: Db, code: string): Promise<InviteRow | undefined> {
  return db.selectFrom('invites').selectAll().where('code', '=', code).executeTakeFirst();
}

/** Inserts a new invite; returns false if the code is already taken (the caller picks another). */
export async function createInvite(db: Db, invite: NewInvite): Promise<boolean> {
  const rows = await db.insertInto('invites').values(invite).onConflict((oc) => oc.column('code').doNothing()).returning('code').execute();
  return rows.length === 1;
}

/** Whether an invite can still be used at `now` (max_age / max_uses of 0 mean unlimited). */
export function isInviteUsable(invite: Pick<InviteRow, 'max_age' | 'max_uses' | 'uses' | 'created_ts'>, now: number): boolean {
  if (invite.max_uses > 0 && invite.uses >= invite.max_uses) return false;
  return invite.max_age === 0 || Number(invite.created_ts) + invite.max_age * 1000 > now;
}

/**
 * Uses an invite once, atomically: one conditional UPDATE, so two joins racing for the last
 * use of a `max_uses` invite can't both win. Returns false (and changes nothing) if the
 * invite is missing, used up, or expired at `now`.
 */
export async function incrementInviteUses(db: Db, code: string, now: number): Promise<boolean> {
  const rows = await db
    .updateTable('invites')
    .set({ uses: sql`uses + 1` })
    .where('code', '=', code)
    .where((eb) => eb.or([eb('max_uses', '=', 0), eb('uses', '<', eb.ref('max_uses'))]))
    .where((eb) => eb.or([eb('max_age', '=', 0), eb(sql`created_ts + max_age::bigint * 1000`, '>', now)]))
    .returning('uses')
    .execute();
  return rows.length === 1;
}

export async function listChannelInvites(db: Db, roomId: string, channelKey: string): Promise<InviteRow[]> {
  return db.selectFrom('invites').selectAll().where('room_id', '=', roomId).where('channel_key', '=', channelKey).orderBy('created_ts').orderBy('code').execute();
}

export async function listGuildInvites(db: Db, roomId: string): Promise<InviteRow[]> {
  return db.selectFrom('invites').selectAll().where('room_id', '=', roomId).orderBy('created_ts').orderBy('code').execute();
}

/** Deletes an invite; returns the deleted row (Discord's DELETE /invites/{code} answers with it). */
export async function deleteInvite(db: Db, code: string): Promise<InviteRow | undefined> {
  return db.deleteFrom('invites').where('code', '=', code).returningAll().executeTakeFirst();
}

/** Gives back a use counted by incrementInviteUses when the join it was for was refused. */
export async function releaseInviteUse(db: Db, code: string): Promise<void> {
  await db.updateTable('invites').set((eb) => ({ uses: eb('uses', '-', 1) })).where('code', '=', code).where('uses', '>', 0).execute();
}
