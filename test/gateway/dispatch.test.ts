import { Intent, intentForEvent } from '../../src/gateway/intents.js';
import { Client, dispatch, FakeBackend, GUILD_A, startGateway, user, waitFor, type Harness } from './gateway-harness.js';

const ALICE = '1000000000000000011';
const BOB = '1000000000000000012';
const CAROL = '1000000000000000013';
const MSG = Intent.GUILDS | Intent.GUILD_MESSAGES;

function message(content: string): Record<string, unknown> {
  return {
    id: '1300000000000000001',
    channel_id: '1200000000000000001',
    content,
    embeds: [{ title: 'e' }],
    attachments: [{ id: '1' }],
    components: [{ type: 1 }],
  };
}

describe('gateway: dispatch fan-out', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startGateway();
    h.backend.tokens.set('alice', user(ALICE));
    h.backend.tokens.set('bob', user(BOB));
    h.backend.tokens.set('carol', user(CAROL));
  });
  afterEach(() => h.stop());

  it('delivers to recipients only, with increasing s per session', async () => {
    const a = await Client.connect(h.url);
    await a.identify('alice', MSG);
    const b = await Client.connect(h.url);
    await b.identify('bob', MSG);
    for (let i = 0; i < 3; i++) h.gateway.publish(dispatch('TEST_EVENT', { i }, [ALICE]));
    h.gateway.publish(dispatch('TEST_EVENT', { i: 'both' }, [ALICE, BOB]));
    expect((await a.next())).toMatchObject({ op: 0, t: 'TEST_EVENT', s: 2, d: { i: 0 } });
    expect((await a.next())).toMatchObject({ s: 3, d: { i: 1 } });
    expect((await a.next())).toMatchObject({ s: 4, d: { i: 2 } });
    expect((await a.next())).toMatchObject({ s: 5, d: { i: 'both' } });
    // bob saw none of alice's: his next frame is the shared one, with his own s.
    expect((await b.next())).toMatchObject({ t: 'TEST_EVENT', s: 2, d: { i: 'both' } });
  });

  it('filters by intent (no MESSAGE_CREATE without GUILD_MESSAGES)', async () => {
    const a = await Client.connect(h.url);
    await a.identify('alice', Intent.GUILDS);
    const intent = intentForEvent('MESSAGE_CREATE', true);
    expect(intent).toBe(Intent.GUILD_MESSAGES);
    h.gateway.publish(dispatch('MESSAGE_CREATE', message('secret'), [ALICE], { intent, guildId: GUILD_A }));
    h.gateway.publish(dispatch('CHANNEL_UPDATE', { id: 'c' }, [ALICE], { intent: Intent.GUILDS, guildId: GUILD_A }));
    // Frames arrive in order, so the next one being the marker proves the message was withheld.
    expect(await a.next()).toMatchObject({ t: 'CHANNEL_UPDATE', s: 2 });
  });

  it('blanks message content without MESSAGE_CONTENT, except for users in contentVisibleTo', async () => {
    const mentioned = await Client.connect(h.url);
    await mentioned.identify('alice', MSG);
    const other = await Client.connect(h.url);
    await other.identify('bob', MSG);
    const privileged = await Client.connect(h.url);
    await privileged.identify('carol', MSG | Intent.MESSAGE_CONTENT);
    h.gateway.publish(
      dispatch('MESSAGE_CREATE', message('hello <@alice>'), [ALICE, BOB, CAROL], {
        intent: Intent.GUILD_MESSAGES,
        guildId: GUILD_A,
        contentVisibleTo: new Set([ALICE]),
      }),
    );
    const full = { content: 'hello <@alice>', embeds: [{ title: 'e' }], attachments: [{ id: '1' }], components: [{ type: 1 }] };
    expect((await mentioned.next()).d).toMatchObject(full);
    expect((await privileged.next()).d).toMatchObject(full);
    expect((await other.next()).d).toEqual({
      id: '1300000000000000001',
      channel_id: '1200000000000000001',
      content: '',
      embeds: [],
      attachments: [],
      components: [],
    });
    // MESSAGE_UPDATE is partial: only the fields it carries are blanked.
    h.gateway.publish(
      dispatch('MESSAGE_UPDATE', { id: 'm', content: 'edited' }, [BOB], { intent: Intent.GUILD_MESSAGES, guildId: GUILD_A }),
    );
    expect((await other.next()).d).toEqual({ id: 'm', content: '' });
  });

  it('delivers to every session of the same user', async () => {
    const one = await Client.connect(h.url);
    await one.identify('alice', MSG);
    const two = await Client.connect(h.url);
    await two.identify('alice', MSG);
    h.gateway.publish(dispatch('TEST_EVENT', { x: 1 }, [ALICE]));
    expect(await one.next()).toMatchObject({ t: 'TEST_EVENT', d: { x: 1 } });
    expect(await two.next()).toMatchObject({ t: 'TEST_EVENT', d: { x: 1 } });
    expect(h.gateway.sessionCount()).toBe(2);
  });

  it('routes guild dispatches by shard and DMs to shard 0', async () => {
    const odd = ((1n << 40n) | (3n << 22n)).toString(); // (id >> 22) % 2 === 1
    const s0 = await Client.connect(h.url);
    await s0.identify('alice', MSG, { shard: [0, 2] });
    const s1 = await Client.connect(h.url);
    await s1.identify('alice', MSG, { shard: [1, 2] });
    h.gateway.publish(dispatch('GUILD_THING', { g: odd }, [ALICE], { guildId: odd }));
    h.gateway.publish(dispatch('DM_THING', {}, [ALICE]));
    expect(await s1.next()).toMatchObject({ t: 'GUILD_THING', s: 2 });
    expect(await s0.next()).toMatchObject({ t: 'DM_THING', s: 2 });
    h.gateway.publish(dispatch('MARK', {}, [ALICE], { guildId: odd }));
    expect(await s1.next()).toMatchObject({ t: 'MARK', s: 3 }); // s1 never got the DM
  });

  it('answers op 8 with GUILD_MEMBERS_CHUNK carrying the nonce', async () => {
    h.backend.members.set(GUILD_A, [
      { user: { id: ALICE, username: 'alice' }, roles: [] },
      { user: { id: BOB, username: 'bob' }, roles: [] },
    ]);
    const c = await Client.connect(h.url);
    await c.identify('alice', MSG | Intent.GUILD_MEMBERS);
    c.send({ op: 8, d: { guild_id: GUILD_A, query: 'b', limit: 0, nonce: 'n1' } });
    const chunk = await c.next();
    expect(chunk).toMatchObject({ t: 'GUILD_MEMBERS_CHUNK', s: 2 });
    expect(chunk.d).toEqual({
      guild_id: GUILD_A,
      members: [{ user: { id: BOB, username: 'bob' }, roles: [] }],
      chunk_index: 0,
      chunk_count: 1,
      nonce: 'n1',
    });
    c.send({ op: 8, d: { guild_id: GUILD_A, user_ids: [ALICE, CAROL], limit: 0 } });
    const byId = await c.next();
    expect(byId.d.members).toEqual([{ user: { id: ALICE, username: 'alice' }, roles: [] }]);
    expect(byId.d.not_found).toEqual([CAROL]);
  });

  it('queues dispatches published while identify is loading guilds, and sends them after GUILD_CREATE', async () => {
    const backend = new FakeBackend();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    backend.guildsFor = async () => {
      await gate;
      return [{ id: GUILD_A, channels: [] }];
    };
    backend.tokens.set('alice', user(ALICE));
    const h2 = await startGateway({}, backend);
    try {
      const c = await Client.connect(h2.url);
      await c.hello();
      c.send({ op: 2, d: { token: 'alice', intents: MSG } });
      await waitFor(() => h2.gateway.sessionCount() === 1);
      h2.gateway.publish(dispatch('EARLY', {}, [ALICE]));
      release();
      expect(await c.next()).toMatchObject({ t: 'READY', s: 1 });
      expect(await c.next()).toMatchObject({ t: 'GUILD_CREATE', s: 2 });
      expect(await c.next()).toMatchObject({ t: 'EARLY', s: 3 });
    } finally {
      await h2.stop();
    }
  });

  it('counts what it does in metrics()', async () => {
    const c = await Client.connect(h.url);
    await c.identify('alice', MSG);
    h.gateway.publish(dispatch('TEST_EVENT', {}, [ALICE]));
    await c.next();
    expect(h.gateway.metrics()).toMatchObject({
      connections: 1,
      sessions: 1,
      resumableSessions: 0,
      dispatchesPublished: 1,
      framesSent: 2,
      identifies: 1,
    });
  });
});

describe('gateway: frames and back-pressure', () => {
  let h: Harness;
  afterEach(() => h.stop());

  it('frames payloads of every WebSocket length class (7-bit, 16-bit, 64-bit)', async () => {
    h = await startGateway();
    h.backend.tokens.set('alice', user(ALICE));
    const c = await Client.connect(h.url);
    await c.identify('alice', MSG);
    const sizes = [10, 200, 70_000, 3];
    for (const n of sizes) h.gateway.publish(dispatch('BLOB', { x: 'é'.repeat(n) }, [ALICE]));
    for (const n of sizes) expect((await c.next()).d.x).toBe('é'.repeat(n));
  });

  it('drops a client that stops reading, and lets it resume what it missed', async () => {
    h = await startGateway({ maxSocketBufferedBytes: 256 * 1024 });
    h.backend.tokens.set('alice', user(ALICE));
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', MSG);
    const socket = (c.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause(); // stop reading: the kernel buffers fill, then the server's
    const big = 'y'.repeat(16 * 1024);
    let published = 0;
    while (h.gateway.metrics().resumableSessions === 0) {
      h.gateway.publish(dispatch('BIG', { n: published++, big }, [ALICE]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.resume();
    await c.closed;
    const r = await Client.connect(h.url);
    await r.hello();
    r.send({ op: 6, d: { token: 'alice', session_id: ready.d.session_id, seq: ready.s } });
    for (let n = 0; n < published; n++) expect(await r.next()).toMatchObject({ t: 'BIG', s: n + 2, d: { n } });
    expect(await r.next()).toMatchObject({ t: 'RESUMED' });
  });
});
