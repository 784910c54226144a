import { snowflakeTime } from '../../src/snowflake.js';
import { readFrontier } from '../../src/store/backfill-frontier.js';
import { rebuildProjections } from '../../src/store/rebuild.js';
import { snapshotViews } from '../../src/store/views-snapshot.js';
import { eventually } from '../helpers/eventually.js';
import { startFederatedServers, type TestServer as Server } from '../helpers/federated-servers.js';
import { registerUser } from '../helpers/homeserver.js';
import { pageBackward, readChannel } from '../helpers/message-pages.js';

// History of a guild joined from another server: the join brings the last 50 events, and
// paging back through the REST API fetches the rest from the guild's server on demand.
// Every message shows up once, in the order it was written, with its original time;
// edits, reactions and deletions count whether they happened before the join or after it
// (when the joining server gets them before the message they apply to).

describe('history of a guild joined from another server', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const s of servers) await s.cleanup();
  });

  beforeAll(async () => {
    // Bob writes history faster than the per-route rate limit (50/s) allows.
    servers.push(...(await startFederatedServers(2, { rateLimits: false })));
  });

  it('is fetched on demand as a client pages back, complete and in order', async () => {
    const [a, b] = servers;

    const bob = await registerUser(b.url, 'bob');
    const guild = (await bob.api.post('/guilds', { name: 'Old Hall' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const side = (await bob.api.post(`/guilds/${guild.id}/channels`, { name: 'side', type: 0 })).body;
    const sent: Array<{ id: string; content: string }> = [];
    for (let i = 0; i < 160; i++) {
      const content = `m${String(i).padStart(3, '0')}`;
      sent.push((await bob.api.post(`/channels/${general.id}/messages`, { content })).body);
      if (i % 4 === 0) expect((await bob.api.post(`/channels/${side.id}/messages`, { content: `side ${i}` })).status).toBe(200);
    }
    // Before the join: an edit, a deletion and a reaction deep in the history.
    expect((await bob.api.patch(`/channels/${general.id}/messages/${sent[10].id}`, { content: 'm010 (edited before)' })).status).toBe(200);
    expect((await bob.api.delete(`/channels/${general.id}/messages/${sent[20].id}`)).status).toBe(204);
    expect((await bob.api.put(`/channels/${general.id}/messages/${sent[30].id}/reactions/${encodeURIComponent('🎉')}/@me`)).status).toBe(204);
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, {})).body;

    const alice = await registerUser(a.url, 'alice');
    expect((await alice.api.post(`/invites/${invite.code}@${b.config.serverName}`, {})).status).toBe(200);
    const aGuild = (await alice.api.get('/users/@me/guilds')).body[0];
    const aChannels = (await alice.api.get(`/guilds/${aGuild.id}/channels`)).body as Array<{ id: string; name: string }>;
    const aGeneral = aChannels.find((ch) => ch.name === general.name)!;
    const aSide = aChannels.find((ch) => ch.name === 'side')!;

    // After the join, to messages A does not hold yet: an edit, a deletion and a reaction.
    expect((await bob.api.patch(`/channels/${general.id}/messages/${sent[40].id}`, { content: 'm040 (edited after)' })).status).toBe(200);
    expect((await bob.api.delete(`/channels/${general.id}/messages/${sent[50].id}`)).status).toBe(204);
    expect((await bob.api.put(`/channels/${general.id}/messages/${sent[60].id}/reactions/${encodeURIComponent('👀')}/@me`)).status).toBe(204);
    // And a reaction undone again, before A holds its message.
    expect((await bob.api.put(`/channels/${general.id}/messages/${sent[70].id}/reactions/${encodeURIComponent('👋')}/@me`)).status).toBe(204);
    expect((await bob.api.delete(`/channels/${general.id}/messages/${sent[70].id}/reactions/${encodeURIComponent('👋')}/@me`)).status).toBe(204);
    const live = (await bob.api.post(`/channels/${general.id}/messages`, { content: 'live' })).body;
    const aLive = await eventually('the live message on A', async () => {
      const page = (await alice.api.get(`/channels/${aGeneral.id}/messages?limit=1`)).body as Array<{ id: string; content: string }>;
      return page[0]?.content === 'live' ? page[0] : undefined;
    });
    expect(aLive.content).toBe('live');

    // Paging back from the newest message reaches the first one, each message once.
    const back = await pageBackward(alice.api, aGeneral.id, 50);
    const expected = [...sent.map((m) => m.content).filter((c) => c !== 'm020' && c !== 'm050'), 'live'];
    const shown = (c: string) => (c.startsWith('m010') ? 'm010' : c.startsWith('m040') ? 'm040' : c);
    expect(back.map((m) => shown(m.content)).reverse()).toEqual(expected);
    expect(new Set(back.map((m) => m.id)).size).toBe(back.length);

    // The same rows read forwards and backwards; the side channel's history is whole too.
    const all = await readChannel(alice.api, aGeneral.id, 30);
    expect(all.map((m) => shown(m.content))).toEqual(expected);
    expect((await readChannel(alice.api, aSide.id, 7)).map((m) => m.content)).toEqual(Array.from({ length: 40 }, (_, i) => `side ${i * 4}`));

    const byContent = new Map(all.map((m) => [shown(m.content), m as unknown as { id: string; content: string; timestamp: string; reactions?: Array<{ count: number; emoji: { name: string } }> }]));
    expect(byContent.get('m010')!.content).toBe('m010 (edited before)');
    expect(byContent.get('m040')!.content).toBe('m040 (edited after)');
    expect(byContent.get('m030')!.reactions).toEqual([expect.objectContaining({ count: 1, emoji: expect.objectContaining({ name: '🎉' }) })]);
    expect(byContent.get('m060')!.reactions).toEqual([expect.objectContaining({ count: 1, emoji: expect.objectContaining({ name: '👀' }) })]);
    expect(byContent.get('m070')!.reactions ?? []).toEqual([]);
    // A fetched message's id tells the time it was written, as on Discord (a message that
    // arrived live has the time it reached A, a little later).
    for (const m of all as unknown as Array<{ id: string; content: string; timestamp: string }>) {
      if (m.content === 'live') expect(snowflakeTime(m.id)).toBeGreaterThanOrEqual(Date.parse(m.timestamp));
      else expect(snowflakeTime(m.id)).toBe(Date.parse(m.timestamp));
    }

    // The history is complete: nothing is left to fetch, and the channel's last message stays the newest.
    expect(await readFrontier(a.database.db, guild.nexus_id)).toEqual([]);
    const channel = (await alice.api.get(`/channels/${aGeneral.id}`)).body;
    expect(channel.last_message_id).toBe(aLive.id);
    expect(live.id).toBeDefined();

    // The views are a function of the log: a rebuild of A's, whose log holds edits and
    // reactions before the history they apply to, gives the same rows (small pages too,
    // so some messages have left the rebuild's window when their edits come).
    const before = await snapshotViews(a.database.db);
    await rebuildProjections(a.database.db, {});
    expect(await snapshotViews(a.database.db)).toEqual(before);
    await rebuildProjections(a.database.db, { batchSize: 7 });
    expect(await snapshotViews(a.database.db)).toEqual(before);
  });

  it('after leaving and joining again, what was written meanwhile is filled in, in its place', async () => {
    const [a, b] = servers;
    const bob = await registerUser(b.url, 'bob2');
    const guild = (await bob.api.post('/guilds', { name: 'Revolving Door' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;
    const alice = await registerUser(a.url, 'alice2');
    const join = async () => expect((await alice.api.post(`/invites/${invite.code}@${b.config.serverName}`, {})).status).toBe(200);
    await join();
    const aGuild = (await alice.api.get('/users/@me/guilds')).body[0];
    const aGeneral = ((await alice.api.get(`/guilds/${aGuild.id}/channels`)).body as Array<{ id: string; type: number }>).find((ch) => ch.type === 0)!;
    const say = async (content: string) => expect((await bob.api.post(`/channels/${general.id}/messages`, { content })).status).toBe(200);
    await say('while here 1');
    await eventually('the first message on A', async () => ((await alice.api.get(`/channels/${aGeneral.id}/messages?limit=5`)).body as Array<{ content: string }>).some((m) => m.content === 'while here 1'));

    // Alice leaves: the guild is gone from her list, and B sees her go.
    expect((await alice.api.delete(`/users/@me/guilds/${aGuild.id}`)).status).toBe(204);
    expect((await alice.api.get('/users/@me/guilds')).body).toEqual([]);
    await eventually('alice gone on B', async () => ((await bob.api.get(`/guilds/${guild.id}/members?limit=10`)).body as unknown[]).length === 1);
    const away = Array.from({ length: 120 }, (_, i) => `while away ${String(i).padStart(3, '0')}`);
    for (const m of away) await say(m);

    // She comes back: the same guild, and the messages of her absence between the old ones and the new.
    await join();
    await say('while here 2');
    expect((await alice.api.get('/users/@me/guilds')).body.map((g: { id: string }) => g.id)).toEqual([aGuild.id]);
    const contents = await eventually('every message on A', async (note) => {
      await a.federation!.history.idle();
      const all = (await readChannel(alice.api, aGeneral.id, 50)).map((m) => m.content);
      note(`${all.length} messages`);
      return all.length === away.length + 2 ? all : undefined;
    }, { timeoutMs: 30_000 });
    expect(contents).toEqual(['while here 1', ...away, 'while here 2']);
    expect(await readFrontier(a.database.db, guild.nexus_id)).toEqual([]);
  });
});
