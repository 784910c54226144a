// Setup of the federation benches over the real client API: a guild hosted on server A,
// members registered on A and joined by invite, and members registered on B joined through
// `CODE@A` (the remote join over federation).

export async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}/api/v10${path}`, {
    method,
    headers: { ...(token ? { authorization: token } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${base}${path}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

export async function register(base: string, username: string): Promise<{ token: string; userId: string }> {
  const r = await api(base, 'POST', '/auth/register', undefined, { username, password: 'bench password 1234' });
  return { token: r.token, userId: r.user_id };
}

export interface FederatedGuild {
  /** The guild's room id (the same on both servers). */
  roomId: string;
  /** The owner on A: its token and nexus id (`@owner:A`). */
  owner: { token: string; nexusId: string };
  a: { guildId: string; channelId: string; tokens: string[] };
  b: { guildId: string; channelId: string; tokens: string[] };
  /** How long the remote joins took (ms, each). */
  remoteJoinMs: number[];
}

/**
 * On A (`aUrl`, named `aName`): an owner, a guild and an invite; `aMembers` more members of
 * A joined locally. On B: `bMembers` members joined through `CODE@aName`, one at a time.
 * Returns the ids each side knows the guild and its first text channel by.
 */
export async function setupFederatedGuild(aUrl: string, aName: string, bUrl: string, opts: { aMembers: number; bMembers: number }): Promise<FederatedGuild> {
  const owner = await register(aUrl, 'owner');
  const guild = await api(aUrl, 'POST', '/guilds', owner.token, { name: 'federation bench' });
  const channels = await api(aUrl, 'GET', `/guilds/${guild.id}/channels`, owner.token);
  const channel = channels.find((c: { type: number }) => c.type === 0);
  const invite = await api(aUrl, 'POST', `/channels/${channel.id}/invites`, owner.token, { max_uses: 0 });
  const aTokens = [owner.token];
  for (let i = 0; i < opts.aMembers; i++) {
    const m = await register(aUrl, `amember${i}`);
    await api(aUrl, 'POST', `/invites/${invite.code}`, m.token);
    aTokens.push(m.token);
  }
  const bTokens: string[] = [];
  const remoteJoinMs: number[] = [];
  let bGuildId = '';
  let bChannelId = '';
  for (let i = 0; i < opts.bMembers; i++) {
    const m = await register(bUrl, `bmember${i}`);
    const t = performance.now();
    await api(bUrl, 'POST', `/invites/${invite.code}@${aName}`, m.token);
    remoteJoinMs.push(Math.round(performance.now() - t));
    bTokens.push(m.token);
    if (!bGuildId) {
      const mine = await api(bUrl, 'GET', '/users/@me/guilds', m.token);
      bGuildId = mine[0].id;
      const bChannels = await api(bUrl, 'GET', `/guilds/${bGuildId}/channels`, m.token);
      bChannelId = bChannels.find((c: { name: string }) => c.name === channel.name).id;
    }
  }
  const me = await api(aUrl, 'GET', '/users/@me', owner.token);
  return {
    roomId: guild.nexus_id,
    owner: { token: owner.token, nexusId: me.nexus_id ?? `@owner:${aName}` },
    a: { guildId: guild.id, channelId: channel.id, tokens: aTokens },
    b: { guildId: bGuildId, channelId: bChannelId, tokens: bTokens },
    remoteJoinMs,
  };
}
