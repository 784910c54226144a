import { selectAuthEvents } from '../../src/events/auth-events.js';
import { EventType, type UnsignedPdu } from '../../src/events/event-types.js';
import { finalizeEvent } from '../../src/events/finalize-event.js';
import { Permission } from '../../src/events/permissions.js';
import { eventually } from '../helpers/eventually.js';
import { startFederatedServers, type TestServer } from '../helpers/federated-servers.js';
import { GatewayClient, registerUser } from '../helpers/homeserver.js';

// A fork whose resolution differs from the order its events arrived in, seen from the
// gateway. Alice (owner, on A) and bob (an admin, on B) change the same channel overwrite at
// once: bob takes the "reader" role's view of #club away while alice, not having seen that,
// widens it. B receives bob's change first and alice's second; state resolution replays
// the higher power first, so bob's change is the last applied and wins. B's views say so,
// and its gateway must too: dave (a reader, on B) must not get what is said in #club.

const VIEW = Permission.VIEW_CHANNEL;
const SEND = Permission.SEND_MESSAGES;

describe('a fork resolved against arrival order, on the gateway', () => {
  let a: TestServer, b: TestServer;
  afterAll(async () => {
    for (const s of [a, b]) await s?.cleanup();
  });

  it('delivers to the audience of the resolved state, not of the last event to arrive', async () => {
    [a, b] = await startFederatedServers(2);
    const alice = await registerUser(a.url, 'alice');
    const guild = (await alice.api.post('/guilds', { name: 'Club House' })).body;
    const roomId: string = guild.nexus_id;
    const general = (await alice.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const club = (await alice.api.post(`/guilds/${guild.id}/channels`, { name: 'club' })).body;
    const admin = (await alice.api.post(`/guilds/${guild.id}/roles`, { name: 'admin', permissions: String(Permission.ADMINISTRATOR) })).body;
    const reader = (await alice.api.post(`/guilds/${guild.id}/roles`, { name: 'reader', permissions: '0' })).body;
    expect((await alice.api.put(`/channels/${club.id}/permissions/${guild.id}`, { type: 0, deny: String(VIEW) })).status).toBe(204);
    expect((await alice.api.put(`/channels/${club.id}/permissions/${reader.id}`, { type: 0, allow: String(VIEW) })).status).toBe(204);
    const invite = (await alice.api.post(`/channels/${general.id}/invites`, { max_uses: 0 })).body;
    const [bob, dave] = [await registerUser(b.url, 'bob'), await registerUser(b.url, 'dave')];
    for (const u of [bob, dave]) expect((await u.api.post(`/invites/${invite.code}@${a.config.serverName}`, {})).status).toBe(200);
    const onA = new Map(((await alice.api.get(`/guilds/${guild.id}/members?limit=10`)).body as Array<{ user: { id: string; username: string } }>).map((m) => [m.user.username, m.user.id]));
    expect((await alice.api.put(`/guilds/${guild.id}/members/${onA.get('bob')}/roles/${admin.id}`)).status).toBe(204);
    expect((await alice.api.put(`/guilds/${guild.id}/members/${onA.get('dave')}/roles/${reader.id}`)).status).toBe(204);

    // B's ids, once B holds the roles.
    const guildOnB = (await bob.api.get('/users/@me/guilds')).body[0].id as string;
    const channelsOnB = (await bob.api.get(`/guilds/${guildOnB}/channels`)).body as Array<{ id: string; name: string }>;
    const [clubOnB, generalOnB] = ['club', general.name].map((n) => channelsOnB.find((c) => c.name === n)!.id);
    const readerOnB = await eventually('dave a reader on B', async () => {
      const roles = (await bob.api.get(`/guilds/${guildOnB}/roles`)).body as Array<{ id: string; name: string }>;
      const r = roles.find((x) => x.name === 'reader');
      const members = (await bob.api.get(`/guilds/${guildOnB}/members?limit=10`)).body as Array<{ user: { username: string }; roles: string[] }>;
      const admins = roles.find((x) => x.name === 'admin');
      const ready = r && admins && members.find((m) => m.user.username === 'dave')?.roles.includes(r.id) && members.find((m) => m.user.username === 'bob')?.roles.includes(admins.id);
      return ready ? r.id : undefined;
    });
    expect((await dave.api.get(`/channels/${clubOnB}/messages`)).status).toBe(200);

    // The fork: alice's change is built on the state before bob's.
    const [head, stateBefore] = [await b.writer.headOf(roomId), new Map(await b.writer.stateOf(roomId))];
    const clubKey = club.nexus_id as string;
    const readerKey = reader.nexus_id as string;
    const gateway = await GatewayClient.connect(b.gatewayUrl, dave.token);
    try {
      expect((await bob.api.put(`/channels/${clubOnB}/permissions/${readerOnB}`, { type: 0, allow: '0', deny: '0' })).status).toBe(204);
      const content = { channel: clubKey, target: readerKey, kind: 'role', allow: String(VIEW | SEND), deny: '0' };
      const stateKey = `${clubKey}|${readerKey}`;
      const unsigned: UnsignedPdu = {
        room_id: roomId, type: EventType.Overwrite, state_key: stateKey, sender: `@alice:${a.config.serverName}`, origin: a.config.serverName,
        origin_server_ts: Date.now(), depth: head.depth + 1, prev_events: head.extremities,
        auth_events: selectAuthEvents(EventType.Overwrite, stateKey, `@alice:${a.config.serverName}`, content, stateBefore), content,
      };
      const widened = finalizeEvent(unsigned, a.config.serverName, a.keys.current);
      const sent = await a.federation!.client.request<{ pdus: Record<string, { error?: string }> }>(b.config.serverName, 'PUT', '/_nexus/federation/v1/send/fork-1', {
        body: { origin: a.config.serverName, origin_server_ts: Date.now(), pdus: [widened.pdu], edus: [] },
      });
      expect(sent.pdus[widened.event_id]).toEqual({});

      // The resolution kept bob's change: B's views say dave cannot see #club.
      const overwrite = ((await bob.api.get(`/channels/${clubOnB}`)).body.permission_overwrites as Array<{ id: string; allow: string }>).find((o) => o.id === readerOnB);
      expect(overwrite?.allow ?? '0').toBe('0');
      expect((await dave.api.get(`/channels/${clubOnB}/messages`)).status).toBe(403);

      expect((await bob.api.post(`/channels/${clubOnB}/messages`, { content: 'only for admins' })).status).toBe(200);
      expect((await bob.api.post(`/channels/${generalOnB}/messages`, { content: 'for everyone' })).status).toBe(200);
      await gateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'for everyone');
      expect(gateway.of('MESSAGE_CREATE').map((d) => d.d.content)).toEqual(['for everyone']);
    } finally {
      gateway.close();
    }
  }, 60_000);
});
