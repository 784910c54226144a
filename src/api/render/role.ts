import { EVERYONE_ROLE } from '../../events/event-types.js';
import type { RoleRow } from '../../store/views/roles.js';

/** Discord's role object (https://discord.com/developers/docs/topics/permissions#role-object), plus `nexus_id` (the role key). */
export interface ApiRole {
  id: string;
  name: string;
  color: number;
  colors: { primary_color: number; secondary_color: null; tertiary_color: null };
  hoist: boolean;
  icon: null;
  unicode_emoji: null;
  position: number;
  permissions: string;
  managed: boolean;
  mentionable: boolean;
  flags: number;
  nexus_id: string;
}

export function renderRole(role: RoleRow): ApiRole {
  return {
    id: String(role.id),
    // Discord's @everyone role is always named so (clients match on it), whatever is stored.
    name: role.role_key === EVERYONE_ROLE ? '@everyone' : role.name,
    color: role.color,
    // discord.js ≥ 14.20 reads `colors`; older versions read `color`. Send both.
    colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
    hoist: role.hoist,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions,
    managed: false,
    mentionable: role.mentionable,
    flags: 0,
    nexus_id: role.role_key,
  };
}
