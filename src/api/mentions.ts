import type { Db } from '../store/database.js';
import { EVERYONE_ROLE } from '../events/event-types.js';
import { globalizeMentions, mentionedSnowflakes } from './render/mention-text.js';

/**
 * Mentions written the Discord way in message text: <@id> and <@!id> for users, <@&id> for
 * roles, <#id> for channels, @everyone and @here. Ids are local snowflakes; events carry
 * global ids, so they are translated here: the mention lists name users and role keys, and
 * `body` is the text with its mentions in their global form (mention-text.ts), which every
 * server shows with its own snowflakes. Unknown ids are dropped from the lists, as Discord
 * drops them, and stay in the text as written.
 */
export async function resolveMentions(db: Db, roomId: string, text: string): Promise<{ body: string; users: string[]; roles: string[]; everyone: boolean }> {
  const wanted = mentionedSnowflakes(text);
  const [users, roles, channels] = await Promise.all([
    wanted.users.length ? db.selectFrom('users').select(['id', 'nexus_id']).where('id', 'in', wanted.users).execute() : [],
    wanted.roles.length ? db.selectFrom('roles').select(['id', 'role_key']).where('room_id', '=', roomId).where('id', 'in', wanted.roles).where('deleted', '=', false).execute() : [],
    wanted.channels.length ? db.selectFrom('channels').select(['id', 'channel_key']).where('room_id', '=', roomId).where('id', 'in', wanted.channels).where('deleted', '=', false).execute() : [],
  ]);
  const userIds = new Map(users.map((u) => [String(u.id), u.nexus_id]));
  const roleKeys = new Map(roles.map((r) => [String(r.id), r.role_key]));
  const channelKeys = new Map(channels.map((c) => [String(c.id), c.channel_key]));
  return {
    body: globalizeMentions(text, { user: (id) => userIds.get(id), role: (id) => roleKeys.get(id), channel: (id) => channelKeys.get(id) }),
    users: [...new Set(userIds.values())].sort(),
    roles: [...roleKeys.values()].filter((k) => k !== EVERYONE_ROLE).sort(),
    everyone: /@(everyone|here)\b/.test(text),
  };
}
