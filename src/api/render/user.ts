import { createHash } from 'node:crypto';
import type { UserRow } from '../../store/views/users.js';

/** Discord's user object (https://discord.com/developers/docs/resources/user#user-object), plus `nexus_id`. */
export interface ApiUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: string | null;
  bot: boolean;
  system: boolean;
  public_flags: number;
  flags: number;
  banner: null;
  accent_color: null;
  avatar_decoration_data: null;
  nexus_id: string;
}

export type RenderableUser = Pick<UserRow, 'id' | 'nexus_id' | 'username' | 'display_name' | 'avatar' | 'bot'>;

export function renderUser(row: RenderableUser): ApiUser {
  return {
    id: String(row.id),
    username: row.username,
    global_name: row.display_name ?? null,
    // Discord's post-2023 usernames have discriminator "0"; discord.js then uses `username`.
    discriminator: '0',
    avatar: row.avatar ?? null,
    bot: row.bot === true,
    system: false,
    public_flags: 0,
    flags: 0,
    banner: null,
    accent_color: null,
    avatar_decoration_data: null,
    nexus_id: row.nexus_id,
  };
}

/**
 * A stable stand-in snowflake for a user this server has no `users` row for (a remote user
 * not yet recorded): 60 bits of SHA-256 of the nexus id with bit 60 set, so it has 19
 * digits like a real snowflake and is the same on every call and every server. It points
 * at nothing (GET /users/{id} can't find it); recording remote users in `users` is the
 * real fix, and then their own snowflake is used instead.
 */
export function placeholderUserId(nexusId: string): string {
  const h = createHash('sha256').update(nexusId, 'utf8').digest();
  const bits = h.readBigUInt64BE(0) & ((1n << 60n) - 1n);
  return ((1n << 60n) | bits).toString();
}

/** The localpart of `@local:server`. */
export function localpart(nexusId: string): string {
  const start = nexusId.startsWith('@') ? 1 : 0;
  const colon = nexusId.indexOf(':');
  return nexusId.slice(start, colon < 0 ? undefined : colon);
}

/** A user object for a nexus id with no `users` row: username is the localpart. */
export function placeholderUser(nexusId: string): ApiUser {
  return renderUser({ id: placeholderUserId(nexusId), nexus_id: nexusId, username: localpart(nexusId), display_name: null, avatar: null, bot: false });
}

/** The user object for a nexus id: its row if known, else the placeholder. */
export function renderUserOf(nexusId: string, users: ReadonlyMap<string, RenderableUser>): ApiUser {
  const row = users.get(nexusId);
  return row ? renderUser(row) : placeholderUser(nexusId);
}

/** The snowflake of a nexus id: its row's id if known, else the placeholder id. */
export function userSnowflake(nexusId: string, users: ReadonlyMap<string, Pick<UserRow, 'id'>>): string {
  const row = users.get(nexusId);
  return row ? String(row.id) : placeholderUserId(nexusId);
}
