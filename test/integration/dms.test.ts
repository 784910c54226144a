import { countEvents } from '../../src/store/event-log.js';
import { testDatabaseOptions } from '../helpers/databases.js';
import { GatewayClient, registerUser, startTestHomeserver } from '../helpers/homeserver.js';

// Direct messages between two users of one homeserver, over real HTTP and WebSocket: a DM
// is a two-person room (rule 15) that shows up as a Discord type-1 channel.
describe.each(testDatabaseOptions())('DMs on one homeserver ($name)', ({ options }) => {
  let hs: Awaited<ReturnType<typeof startTestHomeserver>>;
  const gateways: GatewayClient[] = [];
  afterAll(async () => {
    for (const g of gateways) g.close();
    await hs?.cleanup();
  });

  it('opens a DM once, delivers its messages to both, and keeps everyone else out', async () => {
    hs = await startTestHomeserver(await options());
    const alice = await registerUser(hs.url, 'alice');
    const bob = await registerUser(hs.url, 'bob');
    const eve = await registerUser(hs.url, 'eve');
    const gb = await GatewayClient.connect(hs.gatewayUrl, bob.token);
    gateways.push(gb);

    const opened = await alice.api.post('/users/@me/channels', { recipient_id: bob.id });
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ type: 1, last_message_id: null, recipients: [{ id: bob.id, username: 'bob' }] });
    const dm = opened.body.id as string;
    // Opening it again (by either side, by snowflake or by @user:server) finds the same DM.
    expect((await alice.api.post('/users/@me/channels', { recipient_id: bob.id })).body.id).toBe(dm);
    expect((await bob.api.post('/users/@me/channels', { recipient_id: '@alice:test.local' })).body).toMatchObject({ id: dm, recipients: [{ id: alice.id }] });
    expect((await bob.api.get('/users/@me/channels')).body.map((c: { id: string }) => c.id)).toEqual([dm]);
    expect((await bob.api.get(`/channels/${dm}`)).body).toMatchObject({ id: dm, type: 1, recipients: [{ id: alice.id }] });
    // A DM is not a guild.
    expect((await alice.api.get('/users/@me/guilds')).body).toEqual([]);
    const created = await gb.waitFor((d) => d.t === 'CHANNEL_CREATE' && d.d.id === dm);
    expect(created.d).toMatchObject({ type: 1, recipients: [{ id: alice.id }] });
    expect(created.d.guild_id).toBeUndefined();

    const sent = await alice.api.post(`/channels/${dm}/messages`, { content: 'psst, bob' });
    expect(sent.status).toBe(200);
    expect(sent.body.guild_id).toBeUndefined();
    const got = await gb.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'psst, bob');
    expect(got.d).toMatchObject({ channel_id: dm, author: { id: alice.id } });
    expect(got.d.guild_id).toBeUndefined();
    expect(got.d.member).toBeUndefined();
    expect((await bob.api.post(`/channels/${dm}/messages`, { content: 'hi alice' })).status).toBe(200);
    const history = (await alice.api.get(`/channels/${dm}/messages`)).body.map((m: { content: string }) => m.content);
    expect(history).toEqual(['hi alice', 'psst, bob']);
    // A session that starts now finds the DM in READY's private_channels.
    const ga = await GatewayClient.connect(hs.gatewayUrl, alice.token);
    gateways.push(ga);
    expect(ga.of('READY')[0].d.private_channels).toMatchObject([{ id: dm, type: 1, recipients: [{ id: bob.id }] }]);

    // Each participant deletes only their own messages; the other gets Missing Permissions.
    expect((await bob.api.delete(`/channels/${dm}/messages/${sent.body.id}`)).body).toMatchObject({ code: 50013 });
    // Nobody else reads, writes or lists it.
    expect((await eve.api.get(`/channels/${dm}/messages`)).body).toMatchObject({ code: 10003 });
    expect((await eve.api.post(`/channels/${dm}/messages`, { content: 'me too' })).status).toBe(404);
    expect((await eve.api.get('/users/@me/channels')).body).toEqual([]);
  });

  it('refuses bad recipients with Discord errors and writes nothing', async () => {
    const alice = await registerUser(hs.url, 'alice2');
    const before = await countEvents(hs.database.db);
    const cases: Array<[unknown, number, number]> = [
      [{ recipient_id: '999999999999999999' }, 404, 10013],
      [{ recipient_id: '@nobody:test.local' }, 404, 10013],
      [{ recipient_id: 'not an id' }, 404, 10013],
      [{ recipient_id: alice.id }, 403, 50007],
      [{}, 400, 50035],
      [{ recipient_id: 42 }, 400, 50035],
    ];
    for (const [body, status, code] of cases) {
      const res = await alice.api.post('/users/@me/channels', body);
      expect([res.status, res.body.code]).toEqual([status, code]);
      expect(typeof res.body.message).toBe('string');
    }
    // A server this one does not federate with is never dialled.
    const untrusted = await alice.api.post('/users/@me/channels', { recipient_id: '@bob:elsewhere.example' });
    expect([untrusted.status, untrusted.body.code]).toEqual([403, 50007]);
    expect(untrusted.body.message).toMatch(/does not federate/);
    expect(await countEvents(hs.database.db)).toBe(before);
  });
});
