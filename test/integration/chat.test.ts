import { countEvents } from '../../src/store/event-log.js';
import { Permission } from '../../src/events/permissions.js';
import { testDatabaseOptions } from '../helpers/databases.js';
import { GatewayClient, registerUser, startTestHomeserver } from '../helpers/homeserver.js';

// The issue's "done when", end to end over real HTTP and WebSocket on loopback.
describe.each(testDatabaseOptions())('two users chatting on one homeserver ($name)', ({ options }) => {
  let hs: Awaited<ReturnType<typeof startTestHomeserver>>;
  const gateways: GatewayClient[] = [];
  afterAll(async () => {
    for (const g of gateways) g.close();
    await hs?.cleanup();
  });

  it('registers, creates a guild, invites, chats, edits, deletes, reacts — and both gateways see it all', async () => {
    hs = await startTestHomeserver(await options());
    const alice = await registerUser(hs.url, 'alice');
    const bob = await registerUser(hs.url, 'bob');

    const created = await alice.api.post('/guilds', { name: 'Rivendell' });
    expect(created.status).toBe(201);
    const guildId = created.body.id as string;
    expect(guildId).toMatch(/^[0-9]{17,19}$/);
    expect(created.body.nexus_id).toMatch(/^!.+:test\.local$/);
    const channels = (await alice.api.get(`/guilds/${guildId}/channels`)).body;
    expect(channels.map((c: any) => c.name)).toEqual(['general']);
    const general = channels[0].id as string;

    const ga = await GatewayClient.connect(hs.gatewayUrl, alice.token);
    const gb = await GatewayClient.connect(hs.gatewayUrl, bob.token);
    gateways.push(ga, gb);
    const ready = ga.of('READY')[0].d;
    expect(ready.application).toEqual({ id: alice.id, flags: 0 });
    expect(ready.guilds).toEqual([{ id: guildId, unavailable: true }]);
    const guildCreate = await ga.waitFor((d) => d.t === 'GUILD_CREATE');
    expect(guildCreate.d.channels.map((c: any) => c.id)).toEqual([general]);

    // A non-member cannot see the guild.
    expect((await bob.api.get(`/guilds/${guildId}`)).status).toBe(404);

    const invite = await alice.api.post(`/channels/${general}/invites`, { max_uses: 1 });
    expect(invite.status).toBe(200);
    expect((await bob.api.post(`/invites/${invite.body.code}`)).status).toBe(200);
    await gb.waitFor((d) => d.t === 'GUILD_CREATE' && d.d.id === guildId);
    await ga.waitFor((d) => d.t === 'GUILD_MEMBER_ADD' && d.d.user.id === bob.id);
    // The invite had one use.
    const carol = await registerUser(hs.url, 'carol');
    expect((await carol.api.post(`/invites/${invite.body.code}`)).body.code).toBe(10006);

    const m1 = await alice.api.post(`/channels/${general}/messages`, { content: 'hello bob', nonce: 'n1' });
    expect(m1.status).toBe(200);
    expect(m1.body).toMatchObject({ content: 'hello bob', channel_id: general, author: { id: alice.id }, nonce: 'n1' });
    const m2 = await bob.api.post(`/channels/${general}/messages`, { content: `hi <@${alice.id}>` });
    expect(m2.body.mentions.map((u: any) => u.id)).toEqual([alice.id]);
    expect(m2.body.content).toBe(`hi <@${alice.id}>`); // the event carries <@@alice:…>; we read our snowflake back
    for (const g of [ga, gb]) {
      await g.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === m1.body.id);
      await g.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === m2.body.id);
    }
    expect(gb.of('MESSAGE_CREATE').find((d) => d.d.id === m1.body.id)!.d).toMatchObject({ content: 'hello bob', guild_id: guildId, member: { roles: [] } });

    const edited = await alice.api.patch(`/channels/${general}/messages/${m1.body.id}`, { content: 'hello, bob' });
    expect(edited.body.edited_timestamp).not.toBeNull();
    expect((await bob.api.patch(`/channels/${general}/messages/${m1.body.id}`, { content: 'hijack' })).status).toBe(403);
    for (const g of [ga, gb]) await g.waitFor((d) => d.t === 'MESSAGE_UPDATE' && d.d.id === m1.body.id && d.d.content === 'hello, bob');

    expect((await bob.api.put(`/channels/${general}/messages/${m1.body.id}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
    await ga.waitFor((d) => d.t === 'MESSAGE_REACTION_ADD' && d.d.user_id === bob.id && d.d.emoji.name === '👍');
    const withReaction = await alice.api.get(`/channels/${general}/messages/${m1.body.id}`);
    expect(withReaction.body.reactions).toEqual([expect.objectContaining({ count: 1, me: false, emoji: { id: null, name: '👍' } })]);
    expect((await bob.api.delete(`/channels/${general}/messages/${m1.body.id}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
    await ga.waitFor((d) => d.t === 'MESSAGE_REACTION_REMOVE' && d.d.user_id === bob.id);

    expect((await bob.api.delete(`/channels/${general}/messages/${m1.body.id}`)).status).toBe(403);
    expect((await alice.api.delete(`/channels/${general}/messages/${m1.body.id}`)).status).toBe(204);
    for (const g of [ga, gb]) await g.waitFor((d) => d.t === 'MESSAGE_DELETE' && d.d.id === m1.body.id);
    const history = await bob.api.get(`/channels/${general}/messages`);
    expect(history.body.map((m: any) => m.id)).toEqual([m2.body.id]);

    // Observability: the appends and the live sessions show in /metrics; /health answers.
    const metrics = await (await fetch(`${hs.url}/metrics`)).text();
    expect(Number(/nexus_events_appended_total\{[^}]*type="nexus.message"[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/nexus_http_request_duration_seconds_count\{[^}]*route="\/api\/v10\/channels\/:channelId\/messages"/);
    expect(await (await fetch(`${hs.url}/health`)).json()).toEqual({ status: 'ok', server_name: 'test.local' });

    // Read states: bob marks general read up to m2; a new session of his gets it in READY,
    // and the guild's own log holds no trace of it (it lives in bob's private account room).
    expect((await bob.api.post(`/channels/${general}/messages/${m2.body.id}/ack`, {})).body).toEqual({ token: null });
    const gb2 = await GatewayClient.connect(hs.gatewayUrl, bob.token);
    gateways.push(gb2);
    expect(gb2.of('READY')[0].d.read_state.entries).toEqual([{ id: general, last_message_id: m2.body.id, mention_count: 0 }]);
    const guildRoom = created.body.nexus_id as string;
    const readEvents = await hs.database.db.selectFrom('events').select(['room_id', 'sender']).where('type', '=', 'nexus.account.read_state').execute();
    expect(readEvents).toEqual([{ room_id: expect.stringMatching(/^!acct_/), sender: '@bob:test.local' }]);
    expect(readEvents[0].room_id).not.toBe(guildRoom);
    expect((await alice.api.post(`/channels/${general}/messages/123/ack`, {})).status).toBe(404);

    // Every dispatch a session got has a strictly increasing sequence number.
    for (const g of [ga, gb]) {
      const seqs = g.dispatches.map((d) => d.s);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
    }
  });

  it('a gateway that drops and resumes misses nothing', async () => {
    const alice = await registerUser(hs.url, 'alice2');
    const guildId = (await alice.api.post('/guilds', { name: 'Resume' })).body.id;
    const channel = (await alice.api.get(`/guilds/${guildId}/channels`)).body[0].id;
    const g = await GatewayClient.connect(hs.gatewayUrl, alice.token);
    gateways.push(g);
    await g.waitFor((d) => d.t === 'GUILD_CREATE' && d.d.id === guildId);
    const before = (await alice.api.post(`/channels/${channel}/messages`, { content: 'before the drop' })).body.id;
    await g.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === before);
    const { sessionId, seq } = g;
    g.ws.terminate(); // an abrupt drop: no close frame

    const missed: string[] = [];
    for (const text of ['one', 'two', 'three']) missed.push((await alice.api.post(`/channels/${channel}/messages`, { content: text })).body.id);

    const r = new GatewayClient();
    gateways.push(r);
    await r.open(hs.gatewayUrl, { op: 6, d: { token: alice.token, session_id: sessionId, seq } });
    await r.waitFor((d) => d.t === 'RESUMED');
    // Each missed message arrives exactly once and in order: replayed before RESUMED, or
    // live just after it if its dispatch was still on its way when the client resumed.
    for (const id of missed) await r.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === id);
    const received = r.dispatches.filter((d) => d.t === 'MESSAGE_CREATE').map((d) => d.d.id);
    expect(received).toEqual(missed);
    expect(r.dispatches[0].s).toBe(seq + 1);
    const seqs = r.dispatches.map((d) => d.s);
    expect(seqs).toEqual(seqs.map((_, i) => seq + 1 + i)); // no gap, no repeat
    // …and the resumed session keeps receiving live events.
    const after = (await alice.api.post(`/channels/${channel}/messages`, { content: 'after' })).body.id;
    await r.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === after);
  });

  it('enforces roles and channel overwrites, with the same rules as the log', async () => {
    const owner = await registerUser(hs.url, 'owner3');
    const member = await registerUser(hs.url, 'member3');
    const guildId = (await owner.api.post('/guilds', { name: 'Ranks' })).body.id;
    const general = (await owner.api.get(`/guilds/${guildId}/channels`)).body[0].id;
    const code = (await owner.api.post(`/channels/${general}/invites`, {})).body.code;
    await member.api.post(`/invites/${code}`);

    const announcements = (await owner.api.post(`/guilds/${guildId}/channels`, { name: 'announcements' })).body.id;
    // @everyone (id = guild id) may not send in announcements.
    expect((await owner.api.put(`/channels/${announcements}/permissions/${guildId}`, { type: 0, deny: String(Permission.SEND_MESSAGES) })).status).toBe(204);
    const before = await countEvents(hs.database.db);
    const denied = await member.api.post(`/channels/${announcements}/messages`, { content: 'can I?' });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ code: 50013, message: 'Missing Permissions' });
    expect(await countEvents(hs.database.db)).toBe(before);

    // A role with an allow overwrite lets its holders speak again.
    const herald = (await owner.api.post(`/guilds/${guildId}/roles`, { name: 'herald' })).body;
    await owner.api.put(`/channels/${announcements}/permissions/${herald.id}`, { type: 0, allow: String(Permission.SEND_MESSAGES) });
    expect((await member.api.put(`/guilds/${guildId}/members/${member.id}/roles/${herald.id}`)).status).toBe(403); // can't grant yourself a role
    expect((await owner.api.put(`/guilds/${guildId}/members/${member.id}/roles/${herald.id}`)).status).toBe(204);
    expect((await member.api.post(`/channels/${announcements}/messages`, { content: 'hear ye' })).status).toBe(200);

    // A member overwrite hides the channel from them entirely.
    await owner.api.put(`/channels/${announcements}/permissions/${member.id}`, { type: 1, deny: String(Permission.VIEW_CHANNEL) });
    expect((await member.api.get(`/channels/${announcements}/messages`)).body).toEqual({ code: 50001, message: 'Missing Access' });

    // Kick and ban need their permissions; the member has neither.
    expect((await member.api.delete(`/guilds/${guildId}/members/${owner.id}`)).status).toBe(403);
    expect((await owner.api.put(`/guilds/${guildId}/bans/${member.id}`, {})).status).toBe(204);
    expect((await member.api.get(`/guilds/${guildId}`)).status).toBe(404);
    expect((await member.api.post(`/invites/${code}`)).body).toEqual({ code: 40007, message: 'The user is banned from this guild' });
    expect((await member.api.get(`/guilds/${guildId}`)).status).toBe(404);
    expect((await owner.api.delete(`/guilds/${guildId}/bans/${member.id}`)).status).toBe(204);
    expect((await member.api.post(`/invites/${code}`)).status).toBe(200);
    expect((await member.api.get(`/guilds/${guildId}`)).status).toBe(200);
  });

  it('refuses a join through an invite whose creator may no longer invite, and keeps its use', async () => {
    const owner = await registerUser(hs.url, 'owner4');
    const member = await registerUser(hs.url, 'member4');
    const guest = await registerUser(hs.url, 'guest4');
    const guildId = (await owner.api.post('/guilds', { name: 'Closed' })).body.id;
    const general = (await owner.api.get(`/guilds/${guildId}/channels`)).body[0].id;
    await member.api.post(`/invites/${(await owner.api.post(`/channels/${general}/invites`, {})).body.code}`);
    const code = (await member.api.post(`/channels/${general}/invites`, { max_uses: 5 })).body.code;
    // @everyone (id = guild id) loses CREATE_INSTANT_INVITE: the member's invite can no longer admit anyone.
    const everyone = (await owner.api.get(`/guilds/${guildId}/roles`)).body.find((r: { id: string }) => r.id === guildId);
    const without = (BigInt(everyone.permissions) & ~Permission.CREATE_INSTANT_INVITE).toString();
    expect((await owner.api.patch(`/guilds/${guildId}/roles/${guildId}`, { permissions: without })).status).toBe(200);
    const refused = await guest.api.post(`/invites/${code}`);
    expect(refused.status).toBe(403);
    expect((await guest.api.get(`/guilds/${guildId}`)).status).toBe(404);
    expect((await guest.api.get(`/invites/${code}`)).body.uses).toBe(0);
  });

  it('sets a server ACL through the API, which refuses one that would shut out its own server', async () => {
    const owner = await registerUser(hs.url, 'acl-owner');
    const guildId = (await owner.api.post('/guilds', { name: 'Fenced' })).body.id;
    expect((await owner.api.get(`/guilds/${guildId}/server-acl`)).body).toEqual({ allow: ['*'], deny: [] });
    expect((await owner.api.put(`/guilds/${guildId}/server-acl`, { allow: ['*'], deny: ['*.spam.example'] })).status).toBe(204);
    expect((await owner.api.get(`/guilds/${guildId}/server-acl`)).body).toEqual({ allow: ['*'], deny: ['*.spam.example'] });
    const self = await owner.api.put(`/guilds/${guildId}/server-acl`, { allow: ['*'], deny: ['test.local'] });
    expect(self.body).toEqual({ code: 50013, message: 'Missing Permissions' });
    expect((await owner.api.put(`/guilds/${guildId}/server-acl`, { allow: '*' })).body.code).toBe(50035);
  });

  it('answers bad input with clear errors and writes nothing', async () => {
    const u = await registerUser(hs.url, 'careful');
    const guildId = (await u.api.post('/guilds', { name: 'Errors' })).body.id;
    const channel = (await u.api.get(`/guilds/${guildId}/channels`)).body[0].id;
    const before = await countEvents(hs.database.db);

    const badJson = await u.api.raw('POST', `/channels/${channel}/messages`, '{"content": "oops"', { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(badJson.body.code).toBe(50109);
    const tooLong = await u.api.post(`/channels/${channel}/messages`, { content: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({ code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    // 2,000 characters of mentions fit; written with global ids (<@@…:server>) they do not.
    const longName = await registerUser(hs.url, 'a_rather_long_name_for_a_mention');
    const mentions = `<@${longName.id}>`.repeat(Math.floor(2000 / `<@${longName.id}>`.length));
    const tooLongGlobally = await u.api.post(`/channels/${channel}/messages`, { content: mentions });
    expect(tooLongGlobally.status).toBe(400);
    expect(tooLongGlobally.body).toMatchObject({ code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    const wrongType = await u.api.post(`/channels/${channel}/messages`, { content: 42 });
    expect(wrongType.body.code).toBe(50035);
    expect((await u.api.post(`/channels/${channel}/messages`, { content: '   ' })).body.code).toBe(50006);
    expect((await u.api.post('/channels/123/messages', { content: 'x' })).body.code).toBe(10003);
    expect((await u.api.post('/channels/not-an-id/messages', { content: 'x' })).body.code).toBe(10003);
    expect((await u.api.get(`/channels/${channel}/messages/999999999999999999`)).body.code).toBe(10008);
    expect((await u.api.get(`/channels/${channel}/messages?limit=500`)).body.code).toBe(50035);
    expect((await u.api.get('/guilds/1')).body.code).toBe(10004);
    const noToken = await fetch(`${hs.url}/api/v10/users/@me`);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({ code: 0, message: '401: Unauthorized' });
    const huge = await u.api.post(`/channels/${channel}/messages`, { content: 'x', padding: 'y'.repeat(300_000) });
    expect(huge.status).toBe(413);
    for (const res of [badJson, tooLong, wrongType]) expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(await countEvents(hs.database.db)).toBe(before);
  });
});
