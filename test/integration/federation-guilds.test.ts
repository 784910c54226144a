import { loadRoomState } from '../../src/store/append-events.js';
import { stateHash } from '../../src/events/state-hash.js';
import { eventually } from '../helpers/eventually.js';
import { startFederatedServers, type TestServer as Server } from '../helpers/federated-servers.js';
import { apiClient, GatewayClient, registerUser } from '../helpers/homeserver.js';

// Three homeservers in one process, each with its own database and keys, federating over
// loopback: a guild on B, joined from A and C through `CODE@server` invites; messages,
// edits, reactions and deletes replicate; every server ends with the same guild state.

describe('guilds across three homeservers', () => {
  const servers: Server[] = [];
  let a: Server, b: Server, c: Server;
  afterAll(async () => {
    for (const s of servers) await s.cleanup();
  });

  beforeAll(async () => {
    servers.push(...(await startFederatedServers(3)));
    [a, b, c] = servers;
  });

  it('joins a guild on another server with CODE@server, chats both ways, and replicates edits, reactions and deletes', async () => {
    const nb = b.config.serverName;
    const bob = await registerUser(b.url, 'bob');
    const guild = (await bob.api.post('/guilds', { name: 'Federated Hall' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;

    // A previews the invite (no login needed, as a link preview): B says what it is for.
    const anonymousOnA = apiClient(a.url);
    const preview = await anonymousOnA.get(`/invites/${invite.code}@${nb}?with_counts=true`);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      code: `${invite.code}@${nb}`, guild: { id: null, name: 'Federated Hall', nexus_id: guild.nexus_id },
      channel: { id: null, name: general.name, type: 0 }, approximate_member_count: 1, expires_at: expect.any(String),
    });
    expect((await anonymousOnA.get(`/invites/nosuchcode@${nb}`)).body).toMatchObject({ code: 10006 });

    const alice = await registerUser(a.url, 'alice');
    const joined = await alice.api.post(`/invites/${invite.code}@${nb}`, {});
    expect(joined.body.message ?? "").toBe(""); expect(joined.body).toMatchObject({ code: `${invite.code}@${nb}` });
    expect(joined.body.guild.name).toBe('Federated Hall');
    // The guild is now one of alice's guilds on A, with its channels readable there.
    const mine = (await alice.api.get('/users/@me/guilds')).body;
    expect(mine.map((g: { name: string }) => g.name)).toEqual(['Federated Hall']);
    const aGuildId = mine[0].id;
    const aChannels = (await alice.api.get(`/guilds/${aGuildId}/channels`)).body;
    const aGeneral = aChannels.find((ch: { name: string }) => ch.name === general.name);
    expect(aGeneral).toBeDefined();
    // Now that A holds the guild, its preview shows A's own ids.
    expect((await anonymousOnA.get(`/invites/${invite.code}@${nb}`)).body).toMatchObject({ guild: { id: aGuildId, name: 'Federated Hall' }, channel: { id: aGeneral.id } });

    // Carol is online when she joins: her gateway gets the guild once, whole, and the
    // history fetched with the join is readable but is not news (no MESSAGE_CREATE).
    expect((await bob.api.post(`/channels/${general.id}/messages`, { content: 'before carol' })).status).toBe(200);
    const carol = await registerUser(c.url, 'carol');
    const carolGateway = await GatewayClient.connect(c.gatewayUrl, carol.token);
    expect((await carol.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
    const cGuildId = (await carol.api.get('/users/@me/guilds')).body[0].id;
    const cGeneral = (await carol.api.get(`/guilds/${cGuildId}/channels`)).body.find((ch: { name: string }) => ch.name === general.name);
    const created = await carolGateway.waitFor((d) => d.t === 'GUILD_CREATE' && d.d.id === cGuildId);
    expect(created.d.name).toBe('Federated Hall');
    expect(created.d.channels.map((ch: { id: string }) => ch.id)).toContain(cGeneral.id);
    expect(created.d.members.map((m: { user: { username: string } }) => m.user.username).sort()).toEqual(['alice', 'bob', 'carol']);
    const history = await eventually('history on C', async () => {
      const page = (await carol.api.get(`/channels/${cGeneral.id}/messages?limit=10`)).body as Array<{ content: string }>;
      return page.some((m) => m.content === 'before carol') ? page : undefined;
    });
    expect(history.length).toBeGreaterThan(0);

    // B sees both remote members, with their @user:server ids and local snowflakes.
    const members = await eventually('remote members on B', async () => {
      const list = (await bob.api.get(`/guilds/${guild.id}/members?limit=10`)).body as Array<{ user: { username: string; id: string } }>;
      return list.length === 3 ? list : undefined;
    });
    expect(members.map((m) => m.user.username).sort()).toEqual(['alice', 'bob', 'carol']);

    const aliceGateway = await GatewayClient.connect(a.gatewayUrl, alice.token);
    try {
      // B → A and C.
      const hello = (await bob.api.post(`/channels/${general.id}/messages`, { content: 'hello from b' })).body;
      const onA = await aliceGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'hello from b');
      expect(onA.d.channel_id).toBe(aGeneral.id);
      await carolGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'hello from b');
      expect(carolGateway.of('GUILD_CREATE').filter((d) => d.d.id === cGuildId)).toHaveLength(1);
      expect(carolGateway.of('MESSAGE_CREATE').filter((d) => d.d.content === 'before carol')).toHaveLength(0);

      // A → B and C.
      const reply = (await alice.api.post(`/channels/${aGeneral.id}/messages`, { content: 'hi bob, from a' }));
      expect(reply.status).toBe(200);
      await carolGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'hi bob, from a');
      // Typing on A shows on C's gateway, with the typist as C knows them.
      expect((await alice.api.post(`/channels/${aGeneral.id}/typing`, {})).status).toBe(204);
      const typing = await carolGateway.waitFor((d) => d.t === 'TYPING_START');
      expect(typing.d).toMatchObject({ channel_id: cGeneral.id, guild_id: cGuildId, member: { user: { username: 'alice' } } });
      const onB = await eventually('alice\'s message on B', async () => {
        const page = (await bob.api.get(`/channels/${general.id}/messages?limit=10`)).body as Array<{ content: string; author: { username: string } }>;
        return page.find((m) => m.content === 'hi bob, from a');
      });
      expect(onB.author.username).toBe('alice');

      // Mentions are written with A's snowflakes and read on B and C with theirs.
      const aMembers = (await alice.api.get(`/guilds/${aGuildId}/members?limit=10`)).body as Array<{ user: { id: string; username: string } }>;
      const bobOnA = aMembers.find((m) => m.user.username === 'bob')!.user.id;
      const ping = await alice.api.post(`/channels/${aGeneral.id}/messages`, { content: `ping <@${bobOnA}> in <#${aGeneral.id}>` });
      expect(ping.body.content).toBe(`ping <@${bobOnA}> in <#${aGeneral.id}>`);
      const pinged = await eventually('the mention on B', async () => {
        const page = (await bob.api.get(`/channels/${general.id}/messages?limit=10`)).body as Array<{ content: string; mentions: Array<{ id: string }> }>;
        return page.find((m) => m.content.startsWith('ping'));
      });
      expect(pinged.content).toBe(`ping <@${bob.id}> in <#${general.id}>`);
      expect(pinged.mentions.map((u) => u.id)).toEqual([bob.id]);
      const bobOnC = (await carol.api.get(`/guilds/${cGuildId}/members?limit=10`)).body.find((m: { user: { username: string } }) => m.user.username === 'bob').user.id;
      const onC = await carolGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content.startsWith('ping'));
      expect(onC.d.content).toBe(`ping <@${bobOnC}> in <#${cGeneral.id}>`);

      // Edits, reactions and deletes by B replicate to A and C.
      expect((await bob.api.patch(`/channels/${general.id}/messages/${hello.id}`, { content: 'hello from b (edited)' })).status).toBe(200);
      const edited = await aliceGateway.waitFor((d) => d.t === 'MESSAGE_UPDATE' && d.d.content === 'hello from b (edited)');
      const aHelloId = edited.d.id;
      expect((await alice.api.put(`/channels/${aGeneral.id}/messages/${aHelloId}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
      await eventually('alice\'s reaction on B', async () => {
        const m = (await bob.api.get(`/channels/${general.id}/messages/${hello.id}`)).body as { reactions?: Array<{ count: number }> };
        return m.reactions?.[0]?.count === 1;
      });
      expect((await bob.api.delete(`/channels/${general.id}/messages/${hello.id}`)).status).toBe(204);
      await carolGateway.waitFor((d) => d.t === 'MESSAGE_DELETE');
      await eventually('the delete on A', async () => (await alice.api.get(`/channels/${aGeneral.id}/messages/${aHelloId}`)).status === 404);
    } finally {
      aliceGateway.close();
      carolGateway.close();
    }

    // Both sides write at once: the DAG forks and merges; every message lands everywhere, once.
    const sent = await Promise.all(Array.from({ length: 10 }, (_, i) => [
      bob.api.post(`/channels/${general.id}/messages`, { content: `burst b${i}` }),
      alice.api.post(`/channels/${aGeneral.id}/messages`, { content: `burst a${i}` }),
    ]).flat());
    expect(sent.every((r) => r.status === 200)).toBe(true);
    const bursts = async (api: typeof bob.api, channelId: string) =>
      ((await api.get(`/channels/${channelId}/messages?limit=100`)).body as Array<{ content: string }>).map((m) => m.content).filter((t) => t.startsWith('burst')).sort();
    const expected = [...Array.from({ length: 10 }, (_, i) => `burst a${i}`), ...Array.from({ length: 10 }, (_, i) => `burst b${i}`)].sort();
    await eventually('every burst message on B', async () => (await bursts(bob.api, general.id)).length === 20);
    await eventually('every burst message on A', async () => (await bursts(alice.api, aGeneral.id)).length === 20);
    await eventually('every burst message on C', async () => (await bursts(carol.api, cGeneral.id)).length === 20);
    expect(await bursts(bob.api, general.id)).toEqual(expected);
    expect(await bursts(alice.api, aGeneral.id)).toEqual(expected);
    expect(await bursts(carol.api, cGeneral.id)).toEqual(expected);

    // Every server holds the same guild state.
    const roomId = guild.nexus_id as string;
    const hashes = await eventually('the same state on all three', async () => {
      const hs = await Promise.all(servers.map(async (s) => stateHash(await loadRoomState(s.database.db, roomId))));
      return hs.every((h) => h === hs[0]) ? hs : undefined;
    });
    expect(new Set(hashes).size).toBe(1);
    expect(cGeneral).toBeDefined();
  });
  it('opens a DM across servers: the other server joins its user, and messages flow both ways', async () => {
    const alice = await registerUser(a.url, 'dm-alice');
    const carol = await registerUser(c.url, 'dm-carol');
    const aliceGateway = await GatewayClient.connect(a.gatewayUrl, alice.token);
    const carolGateway = await GatewayClient.connect(c.gatewayUrl, carol.token);
    try {
      const opened = await alice.api.post('/users/@me/channels', { recipient_id: `@dm-carol:${c.config.serverName}` });
      expect(opened.status).toBe(200);
      expect(opened.body).toMatchObject({ type: 1, recipients: [{ username: 'dm-carol' }] });
      // C joined carol before A answered; reopening finds the same DM.
      expect((await alice.api.post('/users/@me/channels', { recipient_id: `@dm-carol:${c.config.serverName}` })).body.id).toBe(opened.body.id);
      const created = await carolGateway.waitFor((d) => d.t === 'CHANNEL_CREATE' && d.d.type === 1);
      expect(created.d.recipients).toMatchObject([{ username: 'dm-alice' }]);
      const cDm = created.d.id as string;
      expect((await carol.api.get('/users/@me/channels')).body.map((ch: { id: string }) => ch.id)).toEqual([cDm]);

      expect((await alice.api.post(`/channels/${opened.body.id}/messages`, { content: 'hello carol, from a' })).status).toBe(200);
      const onC = await carolGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'hello carol, from a');
      expect(onC.d).toMatchObject({ channel_id: cDm, author: { username: 'dm-alice' } });
      expect(onC.d.guild_id).toBeUndefined();
      expect((await carol.api.post(`/channels/${cDm}/messages`, { content: 'hi alice, from c' })).status).toBe(200);
      const onA = await aliceGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'hi alice, from c');
      expect(onA.d.channel_id).toBe(opened.body.id);
      // Typing travels as an EDU, and shows as a DM's TYPING_START (no guild, no member).
      expect((await carol.api.post(`/channels/${cDm}/typing`, {})).status).toBe(204);
      const typing = await aliceGateway.waitFor((d) => d.t === 'TYPING_START');
      expect(typing.d).toMatchObject({ channel_id: opened.body.id, user_id: onA.d.author.id });
      expect(typing.d.guild_id).toBeUndefined();

      // Only A and C hold the DM, and they agree on it.
      const roomId = opened.body.nexus_id as string;
      const [ha, hc] = await eventually('the same DM state on A and C', async () => {
        const hs = await Promise.all([a, c].map(async (s) => stateHash(await loadRoomState(s.database.db, roomId))));
        return hs[0] === hs[1] ? hs : undefined;
      });
      expect(ha).toBe(hc);
      expect((await loadRoomState(b.database.db, roomId)).size).toBe(0);

      // A user the other server does not know: Discord's Unknown User, and nothing created.
      const unknown = await alice.api.post('/users/@me/channels', { recipient_id: `@nobody:${c.config.serverName}` });
      expect([unknown.status, unknown.body.code]).toEqual([404, 10013]);
      expect((await alice.api.get('/users/@me/channels')).body).toHaveLength(1);
    } finally {
      aliceGateway.close();
      carolGateway.close();
    }
  });

  it('shows a user\'s presence to the members of a shared guild on another server', async () => {
    const host = await registerUser(b.url, 'presence-host');
    const guild = (await host.api.post('/guilds', { name: 'Lobby' })).body;
    const general = (await host.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const invite = (await host.api.post(`/channels/${general.id}/invites`, {})).body;
    const dave = await registerUser(a.url, 'dave');
    expect((await dave.api.post(`/invites/${invite.code}@${b.config.serverName}`, {})).status).toBe(200);
    const daveOnB = await eventually('dave among the members on B', async () => {
      const list = (await host.api.get(`/guilds/${guild.id}/members?limit=10`)).body as Array<{ user: { id: string; username: string } }>;
      return list.find((m) => m.user.username === 'dave')?.user.id;
    });

    const hostGateway = await GatewayClient.connect(b.gatewayUrl, host.token);
    const presences = () => hostGateway.of('PRESENCE_UPDATE').filter((p) => p.d.user.id === daveOnB && p.d.guild_id === guild.id);
    try {
      // Dave comes online on A: B shows it, with his B snowflake, to the guild's members there.
      const daveGateway = await GatewayClient.connect(a.gatewayUrl, dave.token);
      await hostGateway.waitFor((p) => p.t === 'PRESENCE_UPDATE' && p.d.user.id === daveOnB && p.d.status === 'online');
      // A status and an activity (op 3); invisible shows as offline to others.
      daveGateway.ws.send(JSON.stringify({ op: 3, d: { since: null, afk: false, status: 'dnd', activities: [{ name: 'Federating', type: 0, secret: 'x' }] } }));
      const dnd = await hostGateway.waitFor((p) => p.t === 'PRESENCE_UPDATE' && p.d.user.id === daveOnB && p.d.status === 'dnd');
      expect(dnd.d.activities).toEqual([{ name: 'Federating', type: 0 }]);
      // A session that connects now finds it in the guild's GUILD_CREATE.
      const late = await GatewayClient.connect(b.gatewayUrl, host.token);
      const created = await late.waitFor((p) => p.t === 'GUILD_CREATE' && p.d.id === guild.id);
      late.close();
      expect(created.d.presences).toEqual(expect.arrayContaining([{ user: { id: daveOnB }, status: 'dnd', activities: [{ name: 'Federating', type: 0 }], client_status: { web: 'dnd' } }]));
      daveGateway.ws.send(JSON.stringify({ op: 3, d: { since: null, afk: false, status: 'invisible', activities: [] } }));
      await hostGateway.waitFor((p) => p.t === 'PRESENCE_UPDATE' && p.d.user.id === daveOnB && p.d.status === 'offline');
      daveGateway.ws.send(JSON.stringify({ op: 3, d: { since: null, afk: false, status: 'idle', activities: [] } }));
      await hostGateway.waitFor((p) => p.t === 'PRESENCE_UPDATE' && p.d.user.id === daveOnB && p.d.status === 'idle');
      // His last session ends (a 1000 close: not kept to resume): offline.
      daveGateway.ws.close(1000);
      await eventually('dave offline on B', async () => presences().at(-1)?.d.status === 'offline');
      expect(presences().map((p) => p.d.status)).toEqual(['online', 'dnd', 'offline', 'idle', 'offline']);
      expect(presences().every((p) => p.d.status !== 'invisible')).toBe(true);
    } finally {
      hostGateway.close();
    }
  });
});
