import { CLOSE_CODES, CloseCode } from '../../src/gateway/close-codes.js';
import { Intent } from '../../src/gateway/intents.js';
import { Client, startGateway, user, type Harness } from './gateway-harness.js';

const BOT = '1000000000000000031';

describe('gateway: close codes', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startGateway();
    h.backend.tokens.set('bot', user(BOT));
    h.backend.tokens.set('limited', { ...user('1000000000000000032'), allowedIntents: Intent.GUILD_MEMBERS });
  });
  afterEach(() => h.stop());

  async function closeAfter(send: (c: Client) => Promise<void> | void, query?: string): Promise<{ code: number; reason: string }> {
    const c = await Client.connect(h.url, query);
    await send(c);
    return c.closed;
  }

  it('4001 for an unknown opcode (and for receive-only opcodes)', async () => {
    expect((await closeAfter(async (c) => { await c.hello(); c.send({ op: 99, d: null }); })).code).toBe(4001);
    expect((await closeAfter(async (c) => { await c.hello(); c.send({ op: 11, d: null }); })).code).toBe(4001);
  });

  it('4002 for invalid JSON, a non-object payload, or a malformed identify', async () => {
    expect((await closeAfter(async (c) => { await c.hello(); c.send('{not json'); })).code).toBe(4002);
    expect((await closeAfter(async (c) => { await c.hello(); c.send('[1,2]'); })).code).toBe(4002);
    expect((await closeAfter(async (c) => { await c.hello(); c.send({ op: 2, d: { intents: 1 } }); })).code).toBe(4002);
  });

  it('4002 for an encoding other than json', async () => {
    const closed = await closeAfter(() => undefined, '?v=10&encoding=etf');
    expect(closed.code).toBe(4002);
    expect(closed.reason).toMatch(/json/);
  });

  it('4003 for a command before identify', async () => {
    const closed = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 3, d: { status: 'online', activities: [], since: null, afk: false } });
    });
    expect(closed.code).toBe(4003);
  });

  it('4004 for an invalid token', async () => {
    const closed = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'wrong', intents: 1 } });
    });
    expect(closed).toEqual({ code: 4004, reason: CLOSE_CODES[CloseCode.AuthenticationFailed].reason });
  });

  it('4005 for a second identify', async () => {
    const closed = await closeAfter(async (c) => {
      await c.identify('bot', Intent.GUILDS);
      c.send({ op: 2, d: { token: 'bot', intents: 1 } });
    });
    expect(closed.code).toBe(4005);
    expect(h.gateway.sessionCount()).toBe(1); // a protocol error leaves the session resumable
  });

  it('4008 past 120 commands in a minute', async () => {
    const c = await Client.connect(h.url);
    await c.hello();
    for (let i = 0; i < 121; i++) c.send({ op: 1, d: null });
    const acks = [];
    for (let i = 0; i < 120; i++) acks.push((await c.next()).op);
    expect(acks.every((op) => op === 11)).toBe(true);
    expect((await c.closed).code).toBe(4008);
  });

  it('4010 for an invalid shard', async () => {
    const closed = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'bot', intents: 1, shard: [2, 2] } });
    });
    expect(closed.code).toBe(4010);
  });

  it('4012 for an unsupported API version', async () => {
    expect((await closeAfter(() => undefined, '?v=8&encoding=json')).code).toBe(4012);
  });

  it('4013 for undefined intent bits, and for a bot without intents', async () => {
    const bad = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'bot', intents: 1 << 26 } });
    });
    expect(bad.code).toBe(4013);
    const undefinedBit = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'bot', intents: 1 << 17 } });
    });
    expect(undefinedBit.code).toBe(4013);
    const missing = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'bot' } });
    });
    expect(missing.code).toBe(4013);
  });

  it('4014 for privileged intents the application may not use', async () => {
    const closed = await closeAfter(async (c) => {
      await c.hello();
      c.send({ op: 2, d: { token: 'limited', intents: Intent.GUILDS | Intent.MESSAGE_CONTENT } });
    });
    expect(closed.code).toBe(4014);
    const ok = await Client.connect(h.url);
    await ok.identify('limited', Intent.GUILDS | Intent.GUILD_MEMBERS);
  });
});
