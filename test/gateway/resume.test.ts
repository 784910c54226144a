import { Intent } from '../../src/gateway/intents.js';
import { Client, dispatch, startGateway, user, waitFor, type Frame, type Harness } from './gateway-harness.js';

const ALICE = '1000000000000000021';
const INTENTS = Intent.GUILDS | Intent.GUILD_MESSAGES;

async function resume(h: Harness, token: string, sessionId: string, seq: number | null): Promise<Client> {
  const c = await Client.connect(h.url);
  await c.hello();
  c.send({ op: 6, d: { token, session_id: sessionId, seq } });
  return c;
}

describe('gateway: resume', () => {
  let h: Harness;
  afterEach(() => h.stop());

  async function start(overrides = {}): Promise<void> {
    h = await startGateway(overrides);
    h.backend.tokens.set('alice', user(ALICE));
    h.backend.tokens.set('mallory', user('1000000000000000066'));
  }

  it('replays exactly the missed dispatches in order, then RESUMED, then continues live', async () => {
    await start();
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS);
    h.gateway.publish(dispatch('LIVE', { n: 0 }, [ALICE]));
    const live = await c.next();
    expect(live.s).toBe(2);

    c.ws.terminate(); // the TCP connection just dies (close code 1006 on the server)
    await waitFor(() => h.gateway.metrics().resumableSessions === 1);
    for (let n = 1; n <= 3; n++) h.gateway.publish(dispatch('MISSED', { n }, [ALICE]));

    const r = await resume(h, 'alice', ready.d.session_id, live.s);
    const replayed: Frame[] = [await r.next(), await r.next(), await r.next()];
    expect(replayed.map((f) => [f.t, f.s, f.d.n])).toEqual([
      ['MISSED', 3, 1],
      ['MISSED', 4, 2],
      ['MISSED', 5, 3],
    ]);
    expect(await r.next()).toMatchObject({ op: 0, t: 'RESUMED', s: 6 });
    h.gateway.publish(dispatch('LIVE', { n: 4 }, [ALICE]));
    expect(await r.next()).toMatchObject({ t: 'LIVE', s: 7, d: { n: 4 } });
    expect(h.gateway.metrics()).toMatchObject({ sessions: 1, resumableSessions: 0, resumes: 1 });
  });

  it('moves the session to the new socket and closes the old one when it is still open', async () => {
    await start();
    const old = await Client.connect(h.url);
    const ready = await old.identify('alice', INTENTS);
    const r = await resume(h, 'alice', ready.d.session_id, ready.s);
    expect(await r.next()).toMatchObject({ t: 'RESUMED', s: 2 });
    expect((await old.closed).code).toBe(4000);
    h.gateway.publish(dispatch('LIVE', {}, [ALICE]));
    expect(await r.next()).toMatchObject({ t: 'LIVE', s: 3 });
  });

  it('answers op 9 (d: false) for an unknown session, and the connection may then identify', async () => {
    await start();
    const r = await resume(h, 'alice', 'no-such-session', 3);
    expect(await r.next()).toEqual({ op: 9, d: false, s: null, t: null });
    r.send({ op: 2, d: { token: 'alice', intents: INTENTS } });
    expect(await r.next()).toMatchObject({ t: 'READY', s: 1 });
    expect(h.gateway.metrics().invalidSessions).toBe(1);
  });

  it('answers op 9 when the token belongs to another user', async () => {
    await start();
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS);
    c.ws.terminate();
    const r = await resume(h, 'mallory', ready.d.session_id, 1);
    expect((await r.next()).op).toBe(9);
  });

  it('answers op 9 when the seq is older than the replay buffer, and drops that session', async () => {
    await start({ maxBufferedDispatches: 3 });
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS); // s = 1
    c.ws.terminate();
    await waitFor(() => h.gateway.metrics().resumableSessions === 1);
    for (let n = 0; n < 5; n++) h.gateway.publish(dispatch('MISSED', { n }, [ALICE])); // s = 2..6, buffer keeps 4..6
    const r = await resume(h, 'alice', ready.d.session_id, 1);
    expect(await r.next()).toEqual({ op: 9, d: false, s: null, t: null });
    expect(h.gateway.sessionCount()).toBe(0);
  });

  it('answers op 9 when the seq is ahead of the session', async () => {
    await start();
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS);
    c.ws.terminate();
    const r = await resume(h, 'alice', ready.d.session_id, 99);
    expect((await r.next()).op).toBe(9);
  });

  it('closes a silent connection with 4009 and keeps its session resumable', async () => {
    await start({ heartbeatIntervalMs: 200 });
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS); // and never heartbeat
    expect((await c.closed).code).toBe(4009);
    h.gateway.publish(dispatch('MISSED', {}, [ALICE]));
    const r = await resume(h, 'alice', ready.d.session_id, ready.s);
    expect(await r.next()).toMatchObject({ t: 'MISSED', s: 2 });
    expect(await r.next()).toMatchObject({ t: 'RESUMED', s: 3 });
    r.ws.close(1000);
  });

  it('drops a disconnected session after the resume window', async () => {
    await start({ resumeWindowMs: 30 });
    const c = await Client.connect(h.url);
    await c.identify('alice', INTENTS);
    c.ws.terminate();
    await waitFor(() => h.gateway.sessionCount() === 0);
    expect(h.backend.presences.at(-1)).toEqual({ userId: ALICE, status: 'offline' });
  });

  it('ends the session when the client closes with 1000', async () => {
    await start();
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS);
    c.ws.close(1000);
    await waitFor(() => h.gateway.sessionCount() === 0);
    const r = await resume(h, 'alice', ready.d.session_id, 1);
    expect((await r.next()).op).toBe(9);
  });

  it('reconnectAll sends op 7 and the client can resume', async () => {
    await start();
    const c = await Client.connect(h.url);
    const ready = await c.identify('alice', INTENTS);
    h.gateway.reconnectAll();
    expect(await c.next()).toEqual({ op: 7, d: null, s: null, t: null });
    expect((await c.closed).code).toBe(4000);
    const r = await resume(h, 'alice', ready.d.session_id, ready.s);
    expect(await r.next()).toMatchObject({ t: 'RESUMED', s: 2 });
  });

  it('close() sends op 7, closes sockets with 4000 and drops every session', async () => {
    await start();
    const c = await Client.connect(h.url);
    await c.identify('alice', INTENTS);
    const closing = h.gateway.close('x'.repeat(200)); // an over-long reason is cut to fit a close frame
    expect(await c.next()).toMatchObject({ op: 7 });
    expect((await c.closed).code).toBe(4000);
    await closing;
    expect(h.gateway.sessionCount()).toBe(0);
  });
});
