import type { Db } from '../store/database.js';
import { EVERYONE_ROLE } from '../events/event-types.js';

/**
 * Mentions written the Discord way in message text: <@id> and <@!id> for users, <@&id> for
 * roles, @everyone and @here. Ids are local snowflakes; events carry global ids, so they are
 * translated here (unknown ids are dropped, as Discord drops them).
 */
export async function resolveMentions(db: Db, roomId: string, body: string): Promise<{ users: string[]; roles: string[]; everyone: boolean }> {
  const userIds = new Set<string>();
  const roleIds = new Set<string>();
  for (const m of body.matchAll(/<@(!?|&)([0-9]{1,20})>/g)) (m[1] === '&' ? roleIds : userIds).add(m[2]);
  const [users, roles] = await Promise.all([
    userIds.size ? db.selectFrom('users').select('nexus_id').where('id', 'in', [...userIds]).execute() : [],
    roleIds.size ? db.selectFrom('roles').select('role_key').where('room_id', '=', roomId).where('id', 'in', [...roleIds]).where('deleted', '=', false).execute() : [],
  ]);
  return {
    users: users.map((u) => u.nexus_id).sort(),
    roles: roles.map((r) => r.role_key).filter((k) => k !== EVERYONE_ROLE).sort(),
    everyone: /@(everyone|here)\b/.test(body),
  };
}
