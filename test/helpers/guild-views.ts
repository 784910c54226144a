// Reading one guild as each server shows it through the client API, in server-independent
// terms (nexus ids rather than each server's own snowflakes), so views can be compared.
import type { apiClient } from './homeserver.js';

type Api = ReturnType<typeof apiClient>;

export interface ApiRoleView {
  id: string;
  nexus_id: string;
  name: string;
  permissions: string;
  position: number;
}

/** The guild's roles by role key (nexus_id). */
export async function rolesByKey(api: Api, guildId: string): Promise<Map<string, ApiRoleView>> {
  const res = await api.get<ApiRoleView[]>(`/guilds/${guildId}/roles`);
  if (res.status !== 200) throw new Error(`GET roles: ${res.status} ${JSON.stringify(res.body)}`);
  return new Map(res.body.map((r) => [r.nexus_id, r]));
}

/** The local snowflake of each member, by nexus id. */
export async function memberIds(api: Api, guildId: string): Promise<Map<string, string>> {
  const res = await api.get<Array<{ user: { id: string; nexus_id: string } }>>(`/guilds/${guildId}/members?limit=100`);
  if (res.status !== 200) throw new Error(`GET members: ${res.status} ${JSON.stringify(res.body)}`);
  return new Map(res.body.map((m) => [m.user.nexus_id, m.user.id]));
}

/** A member's roles as sorted role keys, or undefined when not a member here. */
export async function memberRoleKeys(api: Api, guildId: string, userSnowflake: string): Promise<string[] | undefined> {
  const [member, roles] = await Promise.all([api.get<{ roles: string[] }>(`/guilds/${guildId}/members/${userSnowflake}`), rolesByKey(api, guildId)]);
  if (member.status === 404) return undefined;
  if (member.status !== 200) throw new Error(`GET member: ${member.status} ${JSON.stringify(member.body)}`);
  const keyOf = new Map([...roles.values()].map((r) => [r.id, r.nexus_id]));
  return member.body.roles.map((id) => keyOf.get(id) ?? `unknown role ${id}`).sort();
}

/** Nexus ids of the banned users (the viewer needs BAN_MEMBERS). */
export async function bannedIds(api: Api, guildId: string): Promise<string[]> {
  const res = await api.get<Array<{ user: { nexus_id: string } }>>(`/guilds/${guildId}/bans`);
  if (res.status !== 200) throw new Error(`GET bans: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.map((b) => b.user.nexus_id).sort();
}

/** A gauge of a node's /metrics for one destination (0 when absent). */
export async function destinationGauge(url: string, metric: string, destination: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${metric}{`) && line.includes(`destination="${destination}"`)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
