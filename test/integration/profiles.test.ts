import { FederationRequestError } from '../../src/federation/errors.js';
import { PROFILES_QUERY_PATH } from '../../src/federation/profile-queries.js';
import { testDatabaseOptions } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { GatewayClient, registerUser, startTestHomeserver } from '../helpers/homeserver.js';
import { startFederatedServers } from '../helpers/federated-servers.js';

// Display names (Discord's `global_name`): set with PATCH /users/@me, shown everywhere a
// user object is, announced on the gateway, and carried to other servers (query/profiles
// when a remote user is first recorded, the nexus.profile EDU when they rename).

type Server = Awaited<ReturnType<typeof startTestHomeserver>>;
type Member = { user: { id: string; username: string; global_name: string | null; nexus_id: string } };

describe.each(testDatabaseOptions())('PATCH /users/@me on one homeserver ($name)', ({ options }) => {
  let hs: Server;
  const gateways: GatewayClient[] = [];
  afterAll(async () => {
    for (const g of gateways) g.close();
    await hs?.cleanup();
  });

  it('validates, sets and clears the display name, and shows it on REST and the gateway', async () => {
    hs = await startTestHomeserver(await options());
    const alice = await registerUser(hs.url, 'alice');
    const bob = await registerUser(hs.url, 'bob');
    const guild = (await alice.api.post('/guilds', { name: 'Names' })).body;
    const general = (await alice.api.get(`/guilds/${guild.id}/channels`)).body[0];
    const invite = (await alice.api.post(`/channels/${general.id}/invites`, {})).body;
    expect((await bob.api.post(`/invites/${invite.code}`, {})).status).toBe(200);
    // Alice's row is now cached by the gateway fan-out (her message's author): a rename must show anyway.
    expect((await alice.api.post(`/channels/${general.id}/messages`, { content: 'before' })).status).toBe(200);
    const ga = await GatewayClient.connect(hs.gatewayUrl, alice.token);
    const gb = await GatewayClient.connect(hs.gatewayUrl, bob.token);
    gateways.push(ga, gb);

    const bad: Array<[unknown, string, string]> = [
      [{ global_name: 5 }, 'global_name', 'STRING_TYPE_CONVERT'],
      [{ global_name: ['Alice'] }, 'global_name', 'STRING_TYPE_CONVERT'],
      [{ global_name: '' }, 'global_name', 'BASE_TYPE_MIN_LENGTH'],
      [{ global_name: '   ' }, 'global_name', 'BASE_TYPE_MIN_LENGTH'],
      [{ global_name: 'x'.repeat(33) }, 'global_name', 'BASE_TYPE_MAX_LENGTH'],
      [{ global_name: '🙂'.repeat(33) }, 'global_name', 'BASE_TYPE_MAX_LENGTH'],
      [{ username: 'mallory' }, 'username', 'BASE_TYPE_UNKNOWN_FIELD'],
      [{ avatar: null }, 'avatar', 'BASE_TYPE_UNKNOWN_FIELD'],
      [{ global_name: 'Fine', username: 'mallory' }, 'username', 'BASE_TYPE_UNKNOWN_FIELD'],
    ];
    for (const [body, field, code] of bad) {
      const res = await alice.api.patch('/users/@me', body);
      expect([res.status, res.body.code]).toEqual([400, 50035]);
      expect(res.body.errors[field]._errors[0].code).toBe(code);
    }
    const notAnObject = await alice.api.patch('/users/@me', ['Alice']);
    expect([notAnObject.status, notAnObject.body.code]).toEqual([400, 50035]);
    const unchanged = (await alice.api.get('/users/@me')).body;
    expect(unchanged).toMatchObject({ id: alice.id, username: 'alice', global_name: null });

    // An empty patch changes nothing and announces nothing; 32 characters are counted as
    // code points (32 emoji are 64 UTF-16 units), and surrounding spaces are trimmed.
    expect((await alice.api.patch('/users/@me', {})).body.global_name).toBeNull();
    const emoji = await alice.api.patch('/users/@me', { global_name: '🙂'.repeat(32) });
    expect([emoji.status, emoji.body.global_name]).toEqual([200, '🙂'.repeat(32)]);
    const set = await alice.api.patch('/users/@me', { global_name: '  Alice A.  ' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ id: alice.id, username: 'alice', global_name: 'Alice A.', nexus_id: `@alice:${hs.config.serverName}`, verified: true });
    // The same name again is no change: nothing is announced for it.
    expect((await alice.api.patch('/users/@me', { global_name: 'Alice A.' })).status).toBe(200);

    // Her own sessions get USER_UPDATE; bob's get GUILD_MEMBER_UPDATE in the guild they share.
    const updated = await ga.waitFor((d) => d.t === 'USER_UPDATE' && d.d.global_name === 'Alice A.');
    expect(updated.d).toMatchObject({ id: alice.id, username: 'alice' });
    const member = await gb.waitFor((d) => d.t === 'GUILD_MEMBER_UPDATE' && d.d.user.global_name === 'Alice A.');
    expect(member.d).toMatchObject({ guild_id: guild.id, user: { id: alice.id } });

    // Everywhere a user object is shown.
    expect((await alice.api.get('/users/@me')).body.global_name).toBe('Alice A.');
    expect((await bob.api.get(`/users/${alice.id}`)).body.global_name).toBe('Alice A.');
    const members = (await bob.api.get(`/guilds/${guild.id}/members?limit=10`)).body as Member[];
    expect(members.find((m) => m.user.id === alice.id)!.user.global_name).toBe('Alice A.');
    expect((await alice.api.post(`/channels/${general.id}/messages`, { content: 'after' })).status).toBe(200);
    const created = await gb.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'after');
    expect(created.d.author.global_name).toBe('Alice A.');
    const page = (await bob.api.get(`/channels/${general.id}/messages?limit=10`)).body as Array<{ content: string; author: { global_name: string | null } }>;
    expect(page.map((m) => [m.content, m.author.global_name])).toEqual([['after', 'Alice A.'], ['before', 'Alice A.']]);

    // null clears it.
    const cleared = await alice.api.patch('/users/@me', { global_name: null });
    expect([cleared.status, cleared.body.global_name]).toEqual([200, null]);
    await ga.waitFor((d) => d.t === 'USER_UPDATE' && d.d.global_name === null);
    // Exactly one USER_UPDATE per change, in order, and only to alice: dispatches of one
    // process arrive in the order they were published, so nothing else is still coming.
    expect(ga.of('USER_UPDATE').map((d) => d.d.global_name)).toEqual(['🙂'.repeat(32), 'Alice A.', null]);
    await gb.waitFor((d) => d.t === 'GUILD_MEMBER_UPDATE' && d.d.user.global_name === null);
    expect(gb.of('USER_UPDATE')).toHaveLength(0);
  });
});

describe('display names across homeservers', () => {
  const servers: Server[] = [];
  let a: Server, b: Server, c: Server;
  afterAll(async () => {
    for (const s of servers) await s.cleanup();
  });

  beforeAll(async () => {
    servers.push(...(await startFederatedServers(3)));
    [a, b, c] = servers;
  });

  const membersOn = async (api: Awaited<ReturnType<typeof registerUser>>['api'], guildId: string) => (await api.get(`/guilds/${guildId}/members?limit=100`)).body as Member[];

  it('learns a remote user\'s name when it first records them, and hears of renames by EDU', async () => {
    const nb = b.config.serverName;
    const bob = await registerUser(b.url, 'bob');
    expect((await bob.api.patch('/users/@me', { global_name: 'Bob B.' })).status).toBe(200);
    const guild = (await bob.api.post('/guilds', { name: 'Federated Names' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body[0];
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;

    const alice = await registerUser(a.url, 'alice');
    const aliceGateway = await GatewayClient.connect(a.gatewayUrl, alice.token);
    try {
      expect((await alice.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
      const aGuildId = (await alice.api.get('/users/@me/guilds')).body[0].id as string;
      const aGeneral = (await alice.api.get(`/guilds/${aGuildId}/channels`)).body[0].id as string;

      // A recorded bob when alice joined, and asked B for his profile in the background.
      const bobOnA = await eventually('bob\'s name on A', async (note) => {
        const list = await membersOn(alice.api, aGuildId);
        note(list.map((m) => m.user));
        return list.find((m) => m.user.nexus_id === `@bob:${nb}` && m.user.global_name === 'Bob B.');
      });
      expect(bobOnA.user.username).toBe('bob');
      expect(bobOnA.user.id).not.toBe(bob.id); // A's own snowflake for him
      expect((await alice.api.get(`/users/${bobOnA.user.id}`)).body.global_name).toBe('Bob B.');

      expect((await bob.api.post(`/channels/${general.id}/messages`, { content: 'named hello' })).status).toBe(200);
      const created = await aliceGateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'named hello');
      expect(created.d.author).toMatchObject({ id: bobOnA.user.id, username: 'bob', global_name: 'Bob B.' });
      const message = await eventually('bob\'s message on A', async () => {
        const page = (await alice.api.get(`/channels/${aGeneral}/messages?limit=10`)).body as Array<{ content: string; author: { global_name: string | null } }>;
        return page.find((m) => m.content === 'named hello');
      });
      expect(message.author.global_name).toBe('Bob B.');

      // Bob renames: B tells A at once (nexus.profile), long before A's copy would be stale.
      expect((await bob.api.patch('/users/@me', { global_name: 'Bobby' })).status).toBe(200);
      const update = await aliceGateway.waitFor((d) => d.t === 'GUILD_MEMBER_UPDATE' && d.d.user.global_name === 'Bobby');
      expect(update.d).toMatchObject({ guild_id: aGuildId, user: { id: bobOnA.user.id, username: 'bob' } });
      expect((await membersOn(alice.api, aGuildId)).find((m) => m.user.id === bobOnA.user.id)!.user.global_name).toBe('Bobby');
      expect((await alice.api.get(`/users/${bobOnA.user.id}`)).body.global_name).toBe('Bobby');

      // And a rename on A reaches B the same way.
      expect((await alice.api.patch('/users/@me', { global_name: 'Alice of A' })).status).toBe(200);
      await eventually('alice\'s name on B', async () => (await membersOn(bob.api, guild.id)).some((m) => m.user.username === 'alice' && m.user.global_name === 'Alice of A'));

      // Clearing travels too.
      expect((await bob.api.patch('/users/@me', { global_name: null })).status).toBe(200);
      await aliceGateway.waitFor((d) => d.t === 'GUILD_MEMBER_UPDATE' && d.d.user.id === bobOnA.user.id && d.d.user.global_name === null);
    } finally {
      aliceGateway.close();
    }
  });

  it('answers query/profiles for its own users only, at most 1000 at a time', async () => {
    const nb = b.config.serverName;
    await registerUser(b.url, 'quentin');
    const ask = (body: unknown) => a.federation!.client.post<{ profiles: Record<string, unknown> }>(nb, PROFILES_QUERY_PATH, body);
    const refusal = async (body: unknown) => {
      const err = await ask(body).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(FederationRequestError);
      return [(err as FederationRequestError).status, (err as FederationRequestError).errcode];
    };

    // Unknown users are left out; a user without a display name has null (not the username).
    const answer = await ask({ user_ids: [`@quentin:${nb}`, `@nobody:${nb}`] });
    expect(answer).toEqual({ profiles: { [`@quentin:${nb}`]: { displayname: null, avatar_url: null } } });
    expect(await ask({ user_ids: [] })).toEqual({ profiles: {} });

    expect(await refusal({ user_ids: Array.from({ length: 1001 }, (_, i) => `@u${i}:${nb}`) })).toEqual([400, 'N_INVALID_PARAM']);
    expect(await refusal({ user_ids: [`@quentin:${nb}`, `@alice:${a.config.serverName}`] })).toEqual([400, 'N_INVALID_PARAM']);
    expect(await refusal({ user_ids: ['quentin'] })).toEqual([400, 'N_INVALID_PARAM']);
    expect(await refusal({ user_ids: `@quentin:${nb}` })).toEqual([400, 'N_BAD_JSON']);
    expect(await refusal({ user_ids: [42] })).toEqual([400, 'N_BAD_JSON']);
    expect(await refusal({})).toEqual([400, 'N_BAD_JSON']);
    // 1000 is allowed.
    expect(Object.keys((await ask({ user_ids: Array.from({ length: 1000 }, (_, i) => (i === 0 ? `@quentin:${nb}` : `@u${i}:${nb}`)) })).profiles)).toEqual([`@quentin:${nb}`]);
  });

  it('shows a user of a server it cannot reach by their username, and goes on working', async () => {
    const nb = b.config.serverName;
    const nc = c.config.serverName;
    const dora = await registerUser(b.url, 'dora');
    expect((await dora.api.patch('/users/@me', { global_name: 'Dora B.' })).status).toBe(200);
    const guild = (await dora.api.post('/guilds', { name: 'Half Reachable' })).body;
    const general = (await dora.api.get(`/guilds/${guild.id}/channels`)).body[0];
    const invite = (await dora.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;

    // Carol of C, with a display name, joins while C is up; C signs a request to A (a
    // directory query), so A holds C's keys and can verify carol's join without C later.
    const carol = await registerUser(c.url, 'carol');
    expect((await carol.api.patch('/users/@me', { global_name: 'Carol C.' })).status).toBe(200);
    expect((await carol.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
    expect((await carol.api.get(`/directory?server=${encodeURIComponent(a.config.serverName)}`)).status).toBe(200);
    await eventually('carol in the guild on B', async () => (await membersOn(dora.api, guild.id)).some((m) => m.user.username === 'carol'));
    await c.cleanup(); // C is gone: nothing listens on its port any more

    const erin = await registerUser(a.url, 'erin');
    expect((await erin.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
    const aGuildId = (await erin.api.get('/users/@me/guilds')).body.find((g: { name: string }) => g.name === 'Half Reachable').id as string;
    // Dora's name arrives (A asked B and C for their users at the same moment)…
    const members = await eventually('dora\'s name on A', async () => {
      const list = await membersOn(erin.api, aGuildId);
      return list.some((m) => m.user.global_name === 'Dora B.') ? list : undefined;
    });
    // …while carol, whose server A cannot reach, is shown by her username.
    const carolOnA = members.find((m) => m.user.nexus_id === `@carol:${nc}`)!;
    expect(carolOnA.user).toMatchObject({ username: 'carol', global_name: null });
    expect((await erin.api.get(`/users/${carolOnA.user.id}`)).body).toMatchObject({ username: 'carol', global_name: null });

    // Nothing broke: erin chats with dora both ways.
    const aGeneral = (await erin.api.get(`/guilds/${aGuildId}/channels`)).body[0].id as string;
    expect((await erin.api.post(`/channels/${aGeneral}/messages`, { content: 'hi from a' })).status).toBe(200);
    await eventually('erin\'s message on B', async () => ((await dora.api.get(`/channels/${general.id}/messages?limit=10`)).body as Array<{ content: string }>).some((m) => m.content === 'hi from a'));
    expect((await dora.api.post(`/channels/${general.id}/messages`, { content: 'hi from b' })).status).toBe(200);
    const onA = await eventually('dora\'s message on A', async () => ((await erin.api.get(`/channels/${aGeneral}/messages?limit=10`)).body as Array<{ content: string; author: { global_name: string | null } }>).find((m) => m.content === 'hi from b'));
    expect(onA.author.global_name).toBe('Dora B.');
  });
});
