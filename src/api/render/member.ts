import { EVERYONE_ROLE } from '../../events/event-types.js';
import type { MemberRow } from '../../store/views/members.js';
import { isoTimeOrNull } from './common.js';
import { placeholderUser, renderUser, type ApiUser, type RenderableUser } from './user.js';

/** Discord's guild member object (https://discord.com/developers/docs/resources/guild#guild-member-object). */
export interface ApiMember {
  user: ApiUser;
  nick: string | null;
  avatar: null;
  banner: null;
  roles: string[];
  joined_at: string | null;
  premium_since: null;
  deaf: boolean;
  mute: boolean;
  flags: number;
  pending: boolean;
  communication_disabled_until: null;
}

/**
 * Role keys → role snowflakes. @everyone is implicit in Discord's `roles` (never listed),
 * and keys of roles that no longer exist are dropped, as Discord drops deleted roles.
 */
export function memberRoleIds(roleKeys: readonly string[], roleIdsByKey: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const key of roleKeys) {
    if (key === EVERYONE_ROLE) continue;
    const id = roleIdsByKey.get(key);
    if (id !== undefined && !out.includes(id)) out.push(id);
  }
  return out;
}

/** `user` may be missing for a remote user with no `users` row: a placeholder stands in. */
export function renderMember(member: MemberRow, user: RenderableUser | undefined, roleIdsByKey: ReadonlyMap<string, string>): ApiMember {
  return {
    user: user ? renderUser(user) : placeholderUser(member.user_id),
    nick: member.nick,
    avatar: null,
    banner: null,
    roles: memberRoleIds(Array.isArray(member.roles) ? member.roles : [], roleIdsByKey),
    joined_at: isoTimeOrNull(member.joined_ts),
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
  };
}
