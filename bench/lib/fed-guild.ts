// Fills a guild with members fast, for the federation benches: member joins go straight
// through the room writer (drafted, authorized, signed, logged and projected like any
// join), many per transaction, instead of one HTTP registration and invite use each.
import { systemClock } from '../../src/clock.js';
import { EventType } from '../../src/events/event-types.js';
import type { RoomWriter } from '../../src/guilds/room-writer.js';
import type { EventDraft } from '../../src/guilds/room-writer.js';
import { createSnowflakeGenerator } from '../../src/snowflake.js';
import type { Db } from '../../src/store/database.js';

/**
 * Local accounts for `count` users `@<prefix><n>:<serverName>` (no password: nobody logs in
 * as them), as registration would make them: the fan-out and the member lists expect every
 * local member to have one.
 */
export async function addLocalUsers(db: Db, serverName: string, count: number, prefix = 'member'): Promise<void> {
  const snowflake = createSnowflakeGenerator(systemClock, 0x3fe); // a worker id of its own: no clash with the server's ids
  for (let n = 0; n < count; n += 5000) {
    const rows = [];
    for (let i = n; i < Math.min(count, n + 5000); i++) {
      rows.push({ id: snowflake(), nexus_id: `@${prefix}${i}:${serverName}`, username: `${prefix}${i}`, display_name: null, avatar: null, bot: false, local: true, password_hash: null, created_ts: systemClock.now() });
    }
    await db.insertInto('users').values(rows).execute();
  }
}

/**
 * Joins `count` users `@<prefix><n>:<serverName>` to `roomId`, each through an invite of
 * `inviter` (content.authorised_by, rule 3.1c: the inviter's server signs it, and here
 * that is this server), `batch` joins per append. Returns their ids.
 */
export async function addMembers(writer: Pick<RoomWriter, 'submit'>, roomId: string, inviter: string, serverName: string, count: number, opts: { prefix?: string; batch?: number } = {}): Promise<string[]> {
  const prefix = opts.prefix ?? 'member';
  const batch = opts.batch ?? 500;
  const ids: string[] = [];
  for (let n = 0; n < count; n += batch) {
    const drafts: EventDraft[] = [];
    for (let i = n; i < Math.min(count, n + batch); i++) {
      const user = `@${prefix}${i}:${serverName}`;
      ids.push(user);
      drafts.push({ type: EventType.Member, state_key: user, sender: user, content: { membership: 'join', roles: [], authorised_by: inviter } });
    }
    await writer.submit(roomId, () => drafts);
  }
  return ids;
}
