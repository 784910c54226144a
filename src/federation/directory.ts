import type { Db } from '../store/database.js';
import { listDiscoverableGuilds, type DirectoryQuery } from '../store/views/guilds.js';

/** One guild in the public directory, as servers exchange it and the client API shows it. */
export interface DirectoryEntry {
  guild_id: string; // the guild's global id, `!room:server`
  name: string;
  description: string | null;
  icon: string | null;
  member_count: number;
}

export interface DirectoryPage {
  server: string;
  guilds: DirectoryEntry[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

/**
 * This server's discoverable guilds that still have members, a page at a time. The cursor
 * is this server's own guild snowflake: opaque to other servers, stable for this one.
 */
export async function localDirectory(db: Db, serverName: string, query: DirectoryQuery): Promise<DirectoryPage> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 100);
  const rows = await listDiscoverableGuilds(db, { ...query, limit });
  const guilds = rows
    .filter((r) => r.member_count > 0)
    .map((r) => ({ guild_id: r.room_id, name: r.name, description: r.description, icon: r.icon, member_count: r.member_count }));
  return { server: serverName, guilds, next: rows.length === limit ? String(rows[rows.length - 1].id) : null };
}
