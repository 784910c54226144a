import { randomBytes } from 'node:crypto';
import type { Config } from '../../src/config.js';
import { selectAuthEvents } from '../../src/events/auth-events.js';
import { EventType, type UnsignedPdu } from '../../src/events/event-types.js';
import { finalizeEvent } from '../../src/events/finalize-event.js';
import { signingKeyFromSeed } from '../../src/events/signing-key.js';
import { getLoggedEvent } from '../../src/store/event-log.js';
import { GatewayClient, registerUser, startTestHomeserver } from '../helpers/homeserver.js';
import { freePort } from '../helpers/ports.js';

// Hostile peers against a real homeserver (B): forged signatures, altered content, events
// claiming another origin, replayed and oversized transactions, an untrusted origin, a
// banned user's events. Each is refused (or redacted) as spec/federation.md says, nothing
// bad is stored, and B keeps serving.

type Server = Awaited<ReturnType<typeof startTestHomeserver>>;

describe('hostile federation peers', () => {
  const servers: Server[] = [];
  let a: Server, b: Server, d: Server;
  let roomId: string;
  let channelKey: string;
  let bobApi: Awaited<ReturnType<typeof registerUser>>['api'];
  let bobToken: string;
  let beforeTheBan: { event_id: string; pdu: { depth: number; auth_events: string[] } };
  let generalId: string;
  const alice = () => `@alice:${a.config.serverName}`;

  afterAll(async () => {
    for (const s of servers) await s.cleanup();
  });

  beforeAll(async () => {
    const [pa, pb, pd] = [await freePort(), await freePort(), await freePort()];
    const [na, nb, nd] = [pa, pb, pd].map((p) => `127.0.0.1:${p}`);
    const start = (port: number, name: string, allow: string[]) =>
      startTestHomeserver({}, { port, serverName: name, federation: { mode: 'allowlist', allow, insecure: true } } as Partial<Config>);
    a = await start(pa, na, [nb]);
    b = await start(pb, nb, [na]); // B does not trust D
    d = await start(pd, nd, [nb]);
    servers.push(a, b, d);
    const bob = await registerUser(b.url, 'bob');
    bobApi = bob.api;
    bobToken = bob.token;
    const guild = (await bob.api.post('/guilds', { name: 'Guarded' })).body;
    roomId = guild.nexus_id;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    generalId = general.id;
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, {})).body;
    const aliceUser = await registerUser(a.url, 'alice');
    expect((await aliceUser.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
    const state = await b.writer.stateOf(roomId);
    channelKey = [...state.values()].find((e) => e.pdu.type === EventType.Channel)!.pdu.state_key!;
  });

  /** A message by `sender`, built on B's current DAG tips and state, signed with `key`. */
  async function message(body: string, opts: { sender?: string; origin?: string; key?: ReturnType<typeof signingKeyFromSeed>; after?: { event_id: string; pdu: { depth: number } }; authEvents?: string[] } = {}) {
    const head = await b.writer.headOf(roomId);
    const state = await b.writer.stateOf(roomId);
    const sender = opts.sender ?? alice();
    const content = { channel: channelKey, body };
    const unsigned: UnsignedPdu = {
      room_id: roomId, type: EventType.Message, sender, origin: opts.origin ?? a.config.serverName, origin_server_ts: Date.now(),
      depth: (opts.after?.pdu.depth ?? head.depth) + 1, prev_events: opts.after ? [opts.after.event_id] : head.extremities, auth_events: opts.authEvents ?? selectAuthEvents(EventType.Message, undefined, sender, content, state), content,
    };
    return finalizeEvent(unsigned, opts.origin ?? a.config.serverName, opts.key ?? a.keys.current);
  }

  const send = (from: Server, txnId: string, pdus: unknown[]) =>
    from.federation!.client.request<{ pdus: Record<string, { error?: string }> }>(b.config.serverName, 'PUT', `/_nexus/federation/v1/send/${txnId}`, {
      body: { origin: from.config.serverName, origin_server_ts: Date.now(), pdus, edus: [] },
    });

  it('accepts an honest event, once, however often its transaction is replayed', async () => {
    const ev = await message('honest');
    const first = await send(a, 'txn-honest', [ev.pdu]);
    expect(first).toEqual({ pdus: { [ev.event_id]: {} } });
    expect(await send(a, 'txn-honest', [ev.pdu])).toEqual(first);
    expect(await send(a, 'txn-again', [ev.pdu])).toEqual(first); // the same event in a new transaction: known
    const rows = await b.database.db.selectFrom('events').select('event_id').where('event_id', '=', ev.event_id).execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses a forged signature and an event claiming another origin, storing neither', async () => {
    const forger = signingKeyFromSeed(randomBytes(32), a.keys.current.keyId.split(':')[1]);
    const forged = await message('forged', { key: forger });
    const claimed = await message('not mine', { sender: `@eve:${d.config.serverName}`, origin: d.config.serverName });
    const res = await send(a, 'txn-forged', [forged.pdu, claimed.pdu]);
    expect(res.pdus[forged.event_id].error).toMatch(/does not verify/);
    // (d is not trusted by B: B never even dials it for its keys.)
    expect(res.pdus[claimed.event_id].error).toMatch(/unknown key|signature|signed|does not federate/);
    expect(await getLoggedEvent(b.database.db, forged.event_id)).toBeUndefined();
    expect(await getLoggedEvent(b.database.db, claimed.event_id)).toBeUndefined();
  });

  it('keeps the redacted form of an event whose content was altered after signing', async () => {
    const ev = await message('original words');
    const altered = { ...ev.pdu, content: { ...ev.pdu.content, body: 'altered words' } };
    const res = await send(a, 'txn-altered', [altered]);
    expect(res.pdus[ev.event_id]).toEqual({});
    const stored = await getLoggedEvent(b.database.db, ev.event_id);
    expect(stored!.pdu.content).toEqual({ channel: channelKey }); // the body does not survive redaction
    const page = (await bobApi.get(`/channels/${generalId}/messages?limit=50`)).body as Array<{ content: string }>;
    expect(page.map((m) => m.content)).not.toContain('altered words');
  });

  it('refuses oversized and malformed transactions, and an untrusted origin', async () => {
    const many = Array.from({ length: 51 }, () => ({}));
    await expect(send(a, 'txn-big', many)).rejects.toMatchObject({ status: 413, errcode: 'N_TOO_LARGE' });
    const pdu = { ...(await message('with id')).pdu, event_id: '$x' };
    expect((await send(a, 'txn-with-id', [pdu])).pdus['#0'].error).toMatch(/event_id/);
    await expect(send(d, 'txn-stranger', [(await message('from a stranger')).pdu])).rejects.toMatchObject({ status: 403, errcode: 'N_FORBIDDEN' });
    const lying = await a.federation!.client.request(b.config.serverName, 'PUT', '/_nexus/federation/v1/send/txn-lying', {
      body: { origin: d.config.serverName, origin_server_ts: Date.now(), pdus: [] },
    }).catch((e) => e);
    expect(lying).toMatchObject({ status: 403, errcode: 'N_FORBIDDEN' });
  });

  it('refuses an event of a non-member, yet takes the events its server built on it', async () => {
    const refused = await message('I never joined', { sender: `@nobody:${a.config.serverName}` });
    expect((await send(a, 'txn-outsider', [refused.pdu])).pdus[refused.event_id].error).toMatch(/join|member/);
    // A's later events cite what A holds; one refused event must not cut A off.
    const child = await message('built on it', { after: refused });
    expect((await send(a, 'txn-after-outsider', [child.pdu])).pdus[child.event_id]).toEqual({});
    const page = (await bobApi.get(`/channels/${generalId}/messages?limit=50`)).body as Array<{ content: string }>;
    expect(page.map((m) => m.content)).toContain('built on it');
    expect(page.map((m) => m.content)).not.toContain('I never joined');
  });

  it('refuses the events of a banned user, and keeps serving', async () => {
    beforeTheBan = await message('the last word before the ban');
    expect((await send(a, 'txn-last-word', [beforeTheBan.pdu])).pdus[beforeTheBan.event_id]).toEqual({});
    const guildId = (await bobApi.get('/users/@me/guilds')).body[0].id;
    const aliceRow = (await bobApi.get(`/guilds/${guildId}/members?limit=10`)).body.find((m: { user: { username: string } }) => m.user.username === 'alice');
    expect((await bobApi.put(`/guilds/${guildId}/bans/${aliceRow.user.id}`, {})).status).toBe(204);
    const ev = await message('after the ban');
    const res = await send(a, 'txn-banned', [ev.pdu]);
    expect(res.pdus[ev.event_id].error).toMatch(/not joined|banned|member/);
    expect(await getLoggedEvent(b.database.db, ev.event_id)).toBeUndefined();
    // A refused event is remembered: sending it again gets the same answer without work.
    expect((await send(a, 'txn-banned-again', [ev.pdu])).pdus[ev.event_id].error).toBe(res.pdus[ev.event_id].error);
    expect((await bobApi.post(`/channels/${generalId}/messages`, { content: 'still here' })).status).toBe(200);
  });

  // A message alice wrote on A before the ban reached A: it stands on a state where she is
  // a member, so B keeps it in the DAG (every server must hold the same DAG), but it fails
  // against B's current state (soft failure): neither the views nor the gateway show it.
  it('keeps a message written before the ban reached its server, and shows it nowhere', async () => {
    const gateway = await GatewayClient.connect(b.gatewayUrl, bobToken);
    try {
      const stale = await message('I had not heard of the ban', { after: beforeTheBan, authEvents: beforeTheBan.pdu.auth_events });
      expect((await send(a, 'txn-stale', [stale.pdu])).pdus[stale.event_id]).toEqual({});
      expect(await getLoggedEvent(b.database.db, stale.event_id)).toBeDefined();
      expect((await bobApi.post(`/channels/${generalId}/messages`, { content: 'marker' })).status).toBe(200);
      await gateway.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.content === 'marker');
      expect(gateway.of('MESSAGE_CREATE').map((d) => d.d.content)).toEqual(['marker']);
      const page = (await bobApi.get(`/channels/${generalId}/messages?limit=50`)).body as Array<{ content: string }>;
      expect(page.map((m) => m.content)).not.toContain('I had not heard of the ban');
    } finally {
      gateway.close();
    }
  });
});
