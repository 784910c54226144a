import { Intent } from '../../src/gateway/intents.js';
import { APP_ID, Client, GUILD_A, startGateway, user, waitFor, type Harness } from './gateway-harness.js';

const BOT = '1000000000000000001';
const HUMAN = '1000000000000000002';

describe('gateway: hello, identify, ready', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startGateway({ heartbeatIntervalMs: 45000 });
    h.backend.tokens.set('bot-token', user(BOT));
    h.backend.tokens.set('human-token', user(HUMAN, false));
    h.backend.guilds.set(BOT, [
      { id: GUILD_A, name: 'A', channels: [{ id: '1200000000000000001', type: 0, name: 'general' }], roles: [], members: [], member_count: 1 },
    ]);
  });
  afterEach(() => h.stop());

  it('sends HELLO, then READY with application and unavailable guilds, then GUILD_CREATE', async () => {
    const c = await Client.connect(h.url);
    const hello = await c.next();
    expect(hello).toEqual({ op: 10, d: { heartbeat_interval: 45000 }, s: null, t: null });
    c.send({ op: 2, d: { token: 'bot-token', intents: Intent.GUILDS | Intent.GUILD_MESSAGES, properties: {} } });
    const ready = await c.next();
    expect(ready.op).toBe(0);
    expect(ready.t).toBe('READY');
    expect(ready.s).toBe(1);
    expect(ready.d.v).toBe(10);
    expect(ready.d.user.id).toBe(BOT);
    expect(ready.d.application).toEqual({ id: APP_ID, flags: 0 });
    expect(ready.d.guilds).toEqual([{ id: GUILD_A, unavailable: true }]);
    expect(ready.d.session_id).toMatch(/^[0-9a-f]{32}$/);
    expect(ready.d.resume_gateway_url).toBe(h.url);
    expect(ready.d.shard).toBeUndefined();
    const guild = await c.next();
    expect(guild).toMatchObject({ op: 0, t: 'GUILD_CREATE', s: 2, d: { id: GUILD_A, channels: [{ name: 'general' }] } });
    expect(h.gateway.sessionCount()).toBe(1);
    c.ws.close(1000);
  });

  it('accepts a "Bot " token prefix and v=9', async () => {
    const c = await Client.connect(h.url, '?v=9&encoding=json');
    const ready = await c.identify('Bot bot-token', Intent.GUILDS);
    expect(ready.d.v).toBe(9);
    c.ws.close(1000);
  });

  it('answers heartbeats with ACK, before and after identify', async () => {
    const c = await Client.connect(h.url);
    await c.hello();
    c.send({ op: 1, d: null });
    expect(await c.next()).toEqual({ op: 11, d: null, s: null, t: null });
    c.send({ op: 2, d: { token: 'bot-token', intents: 0 } });
    expect((await c.next()).t).toBe('READY');
    expect((await c.next()).t).toBe('GUILD_CREATE');
    c.send({ op: 1, d: 2 });
    expect((await c.next()).op).toBe(11);
    c.ws.close(1000);
  });

  it('gives a non-bot user without intents every intent', async () => {
    const c = await Client.connect(h.url);
    await c.identify('human-token', undefined);
    h.gateway.publish({
      t: 'MESSAGE_CREATE',
      d: { id: '1', content: 'hi', embeds: [], attachments: [], components: [] },
      intent: Intent.GUILD_MESSAGES,
      recipients: new Set([HUMAN]),
      guildId: GUILD_A,
    });
    expect(await c.next()).toMatchObject({ t: 'MESSAGE_CREATE', d: { content: 'hi' } });
    c.ws.close(1000);
  });

  it('sends only the shard’s guilds in READY and GUILD_CREATE', async () => {
    // Two snowflakes whose (id >> 22) % 2 differ.
    const even = ((1n << 40n) | (2n << 22n)).toString();
    const odd = ((1n << 40n) | (3n << 22n)).toString();
    h.backend.guilds.set(BOT, [
      { id: even, channels: [] },
      { id: odd, channels: [] },
    ]);
    const c0 = await Client.connect(h.url);
    const r0 = await c0.identify('bot-token', Intent.GUILDS, { shard: [0, 2] });
    expect(r0.d.shard).toEqual([0, 2]);
    expect(r0.d.guilds).toEqual([{ id: even, unavailable: true }]);
    expect(await c0.next()).toMatchObject({ t: 'GUILD_CREATE', d: { id: even } });
    const c1 = await Client.connect(h.url);
    const r1 = await c1.identify('bot-token', Intent.GUILDS, { shard: [1, 2] });
    expect(r1.d.guilds).toEqual([{ id: odd, unavailable: true }]);
    expect(await c1.next()).toMatchObject({ t: 'GUILD_CREATE', d: { id: odd } });
    c0.ws.close(1000);
    c1.ws.close(1000);
  });

  it('reports presence online on the first session and offline when the last one closes with 1000', async () => {
    const a = await Client.connect(h.url);
    await a.identify('bot-token', Intent.GUILDS, { presence: { status: 'dnd', activities: [], since: null, afk: false } });
    const b = await Client.connect(h.url);
    await b.identify('bot-token', Intent.GUILDS);
    expect(h.backend.presences).toEqual([{ userId: BOT, status: 'dnd' }]);
    a.send({ op: 3, d: { status: 'idle', activities: [], since: null, afk: false } });
    await waitFor(() => h.backend.presences.length === 2);
    expect(h.backend.presences[1]).toEqual({ userId: BOT, status: 'idle' });
    a.ws.close(1000);
    await a.closed;
    await waitFor(() => h.gateway.sessionCount() === 1);
    expect(h.backend.presences).toHaveLength(2); // b is still online
    b.ws.close(1001);
    await waitFor(() => h.gateway.sessionCount() === 0);
    expect(h.backend.presences[2]).toEqual({ userId: BOT, status: 'offline' });
  });

  it('passes op 4 voice state updates to the backend', async () => {
    const c = await Client.connect(h.url);
    await c.identify('bot-token', Intent.GUILDS | Intent.GUILD_VOICE_STATES);
    const payload = { guild_id: GUILD_A, channel_id: '1200000000000000002', self_mute: false, self_deaf: true };
    c.send({ op: 4, d: payload });
    await waitFor(() => h.backend.voice.length === 1);
    expect(h.backend.voice[0]).toEqual({ userId: BOT, payload });
    c.ws.close(1000);
  });

  it('does not touch upgrades on other paths', async () => {
    let otherUpgrades = 0;
    h.server.on('upgrade', (req, socket) => {
      if (req.url?.startsWith('/other')) {
        otherUpgrades++;
        socket.end('HTTP/1.1 418 I am a teapot\r\n\r\n');
      }
    });
    await expect(Client.connect(h.url.replace('/gateway', '/other'))).rejects.toThrow(/418/);
    expect(otherUpgrades).toBe(1);
  });
});
