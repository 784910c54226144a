import { eventually } from '../helpers/eventually.js';
import { GatewayClient, registerUser } from '../helpers/homeserver.js';
import { readChannel } from '../helpers/message-pages.js';
import { serveBackends, startServeCluster, type ServeCluster, type ServeNode } from '../helpers/serve-cluster.js';

// The federation scenario of federation-guilds.test.ts, with three separate `nexus serve`
// processes configured only through the environment (NEXUS_FEDERATION=allowlist,
// NEXUS_FEDERATION_ALLOW, NEXUS_FEDERATION_INSECURE=1, …), each with its own PGlite data
// dir or its own Postgres database: a guild on B, joined from A and C with `CODE@server`;
// chat in every direction; edits, reactions and deletes replicate; a DM crosses servers;
// the directory is browsed across servers.
//
// The servers and the world built by the first test stay up for the whole describe, so
// later tests (e.g. a DM across servers) can use `world` without repeating the join.

type User = Awaited<ReturnType<typeof registerUser>>;

describe.each(serveBackends())('three nexus serve processes federating (%s)', (backend) => {
  let cluster: ServeCluster;
  let a: ServeNode, b: ServeNode, c: ServeNode;
  /** Filled by the first test: the users and where the guild lives on each server. */
  const world = {} as {
    alice: User; bob: User; carol: User;
    roomId: string;
    guild: { a: string; b: string; c: string };
    general: { a: string; b: string; c: string };
  };

  beforeAll(async () => {
    cluster = await startServeCluster({ backend, size: 3 });
    [a, b, c] = cluster.nodes;
  }, 90_000);
  afterAll(async () => {
    await cluster?.destroy();
  }, 30_000);

  it('joins a guild on another server with CODE@server, chats every way, and replicates edits, reactions and deletes', () => cluster.withLogs(async () => {
    const bob = await registerUser(b.url, 'bob');
    const guild = (await bob.api.post('/guilds', { name: 'Process Hall' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;

    const alice = await registerUser(a.url, 'alice');
    const joined = await alice.api.post(`/invites/${invite.code}@${b.name}`, {});
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ code: `${invite.code}@${b.name}`, guild: { name: 'Process Hall' } });
    const mine = (await alice.api.get('/users/@me/guilds')).body as Array<{ id: string; name: string }>;
    expect(mine.map((g) => g.name)).toEqual(['Process Hall']);
    const aGeneral = (await alice.api.get(`/guilds/${mine[0].id}/channels`)).body.find((ch: { name: string }) => ch.name === general.name);
    expect(aGeneral).toBeDefined();

    const carol = await registerUser(c.url, 'carol');
    expect((await carol.api.post(`/invites/${invite.code}@${b.name}`, {})).status).toBe(200);
    const cGuild = (await carol.api.get('/users/@me/guilds')).body[0];
    const cGeneral = (await carol.api.get(`/guilds/${cGuild.id}/channels`)).body.find((ch: { name: string }) => ch.name === general.name);
    expect(cGeneral).toBeDefined();

    // Every server lists the three members, remote ones by their @user:server ids.
    const expectedMembers = [`@alice:${a.name}`, `@bob:${b.name}`, `@carol:${c.name}`];
    for (const [api, id] of [[alice.api, mine[0].id], [bob.api, guild.id], [carol.api, cGuild.id]] as const) {
      await eventually('three members everywhere', async () => {
        const list = (await api.get(`/guilds/${id}/members?limit=10`)).body as Array<{ user: { nexus_id: string } }>;
        return list.map((m) => m.user.nexus_id).sort().join() === expectedMembers.join();
      });
    }
    Object.assign(world, {
      alice, bob, carol, roomId: guild.nexus_id,
      guild: { a: mine[0].id, b: guild.id, c: cGuild.id },
      general: { a: aGeneral.id, b: general.id, c: cGeneral.id },
    });

    const gateways = {
      a: await GatewayClient.connect(a.gatewayUrl, alice.token),
      b: await GatewayClient.connect(b.gatewayUrl, bob.token),
      c: await GatewayClient.connect(c.gatewayUrl, carol.token),
    };
    try {
      // Chat: each server's user writes, the other two servers' users get MESSAGE_CREATE.
      const writers = [
        { from: 'b', api: bob.api, channel: general.id, text: 'hello from b', to: ['a', 'c'] },
        { from: 'a', api: alice.api, channel: aGeneral.id, text: 'hi bob, from a', to: ['b', 'c'] },
        { from: 'c', api: carol.api, channel: cGeneral.id, text: 'carol here, from c', to: ['a', 'b'] },
      ] as const;
      const created: Record<string, Record<string, { id: string; nexus_id: string }>> = {};
      for (const w of writers) {
        const sent = await w.api.post(`/channels/${w.channel}/messages`, { content: w.text });
        expect(sent.status).toBe(200);
        created[w.text] = { [w.from]: sent.body };
        for (const to of w.to) {
          const got = await gateways[to].waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === w.text, 20_000);
          expect(got.d.channel_id).toBe(world.general[to]);
          // One event, one id: the message is the same signed event on every server.
          expect(got.d.nexus_id).toBe(sent.body.nexus_id);
          created[w.text][to] = got.d;
        }
      }

      // B edits its message; A and C see MESSAGE_UPDATE.
      const fromB = created['hello from b'];
      expect((await bob.api.patch(`/channels/${general.id}/messages/${fromB.b.id}`, { content: 'hello from b (edited)' })).status).toBe(200);
      for (const to of ['a', 'c'] as const) await gateways[to].waitFor((d) => d.t === 'MESSAGE_UPDATE' && d.d.id === fromB[to].id && d.d.content === 'hello from b (edited)', 20_000);
      // A edits its own message on A; B and C see the edit.
      const fromA = created['hi bob, from a'];
      expect((await alice.api.patch(`/channels/${aGeneral.id}/messages/${fromA.a.id}`, { content: 'hi bob, from a (edited)' })).status).toBe(200);
      for (const to of ['b', 'c'] as const) await gateways[to].waitFor((d) => d.t === 'MESSAGE_UPDATE' && d.d.id === fromA[to].id && d.d.content === 'hi bob, from a (edited)', 20_000);

      // A reacts to B's message, C reacts to A's: the counts reach every server.
      expect((await alice.api.put(`/channels/${aGeneral.id}/messages/${fromB.a.id}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
      expect((await carol.api.put(`/channels/${cGeneral.id}/messages/${fromA.c.id}/reactions/${encodeURIComponent('🎉')}/@me`)).status).toBe(204);
      const reactions = (api: User['api'], channel: string, id: string) => async () => {
        const m = (await api.get(`/channels/${channel}/messages/${id}`)).body as { reactions?: Array<{ count: number; emoji: { name: string } }> };
        return (m.reactions ?? []).map((r) => `${r.emoji.name}${r.count}`).join();
      };
      for (const [api, ch, key] of [[alice.api, aGeneral.id, 'a'], [bob.api, general.id, 'b'], [carol.api, cGeneral.id, 'c']] as const) {
        await eventually(`the 👍 on ${key}`, async () => (await reactions(api, ch, fromB[key].id)()) === '👍1');
        await eventually(`the 🎉 on ${key}`, async () => (await reactions(api, ch, fromA[key].id)()) === '🎉1');
      }

      // B deletes its message; C deletes its own: gone everywhere.
      const fromC = created['carol here, from c'];
      expect((await bob.api.delete(`/channels/${general.id}/messages/${fromB.b.id}`)).status).toBe(204);
      expect((await carol.api.delete(`/channels/${cGeneral.id}/messages/${fromC.c.id}`)).status).toBe(204);
      await gateways.a.waitFor((d) => d.t === 'MESSAGE_DELETE' && d.d.id === fromB.a.id, 20_000);
      await gateways.a.waitFor((d) => d.t === 'MESSAGE_DELETE' && d.d.id === fromC.a.id, 20_000);
      await gateways.b.waitFor((d) => d.t === 'MESSAGE_DELETE' && d.d.id === fromC.b.id, 20_000);
      await gateways.c.waitFor((d) => d.t === 'MESSAGE_DELETE' && d.d.id === fromB.c.id, 20_000);
    } finally {
      for (const g of Object.values(gateways)) g.close();
    }

    // What remains is the same history on every server: A's edited message, once.
    for (const [api, ch] of [[alice.api, aGeneral.id], [bob.api, general.id], [carol.api, cGeneral.id]] as const) {
      const history = await readChannel(api, ch);
      expect(history.map((m) => m.content)).toEqual(['hi bob, from a (edited)']);
    }
  }), 90_000);

  it('lists a discoverable guild in the directory across servers', () => cluster.withLogs(async () => {
    const { bob, carol } = world;
    expect(bob).toBeDefined();
    const listing = async (from: ServeNode, server: ServeNode, q = '') => {
      const res = await fetch(`${from.url}/api/v10/directory?server=${encodeURIComponent(server.name)}${q ? `&q=${encodeURIComponent(q)}` : ''}`);
      expect(res.status).toBe(200);
      return (await res.json()) as { server: string; guilds: Array<{ guild_id: string; name: string; member_count: number }>; next: string | null };
    };
    // Not discoverable yet: B's directory, read from A, does not show it.
    expect((await listing(a, b)).guilds).toEqual([]);

    expect((await bob.api.patch(`/guilds/${world.guild.b}`, { discoverable: true })).status).toBe(200);
    // C hosts a discoverable guild of its own.
    const cOwn = (await carol.api.post('/guilds', { name: 'Carol Corner' })).body;
    expect((await carol.api.patch(`/guilds/${cOwn.id}`, { discoverable: true })).status).toBe(200);

    const fromA = await listing(a, b);
    expect(fromA.server).toBe(b.name);
    expect(fromA.guilds).toEqual([expect.objectContaining({ guild_id: world.roomId, name: 'Process Hall', member_count: 3 })]);
    // The same page from C, and a search on B's directory from C.
    expect((await listing(c, b)).guilds.map((g) => g.guild_id)).toEqual([world.roomId]);
    expect((await listing(c, b, 'process')).guilds.map((g) => g.guild_id)).toEqual([world.roomId]);
    expect((await listing(c, b, 'nothing like it')).guilds).toEqual([]);
    // A browses C's directory: C's own guild is there.
    const ofC = await listing(a, c);
    expect(ofC.guilds.map((g) => g.name)).toContain('Carol Corner');
    expect(ofC.guilds.find((g) => g.name === 'Carol Corner')).toMatchObject({ guild_id: cOwn.nexus_id, member_count: 1 });
  }), 60_000);
  it('opens a DM across servers, and both users get each other\'s messages', () => cluster.withLogs(async () => {
    const { alice, carol } = world;
    expect(alice).toBeDefined();
    const carolGateway = await GatewayClient.connect(c.gatewayUrl, carol.token);
    const aliceGateway = await GatewayClient.connect(a.gatewayUrl, alice.token);
    try {
      const opened = await alice.api.post('/users/@me/channels', { recipient_id: `@carol:${c.name}` });
      expect(opened.status).toBe(200);
      expect(opened.body).toMatchObject({ type: 1, recipients: [{ username: 'carol' }] });
      const cDm = (await carolGateway.waitFor((d) => d.t === 'CHANNEL_CREATE' && d.d.type === 1)).d.id as string;
      expect((await alice.api.post(`/channels/${opened.body.id}/messages`, { content: 'a private word, carol' })).status).toBe(200);
      const got = await carolGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'a private word, carol');
      expect(got.d.channel_id).toBe(cDm);
      expect(got.d.guild_id).toBeUndefined();
      expect((await carol.api.post(`/channels/${cDm}/messages`, { content: 'received, alice' })).status).toBe(200);
      await aliceGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'received, alice');
      // B is in the guild with both, but not in their DM.
      expect((await world.bob.api.get('/users/@me/channels')).body).toEqual([]);
    } finally {
      carolGateway.close();
      aliceGateway.close();
    }
  }), 60_000);
});
