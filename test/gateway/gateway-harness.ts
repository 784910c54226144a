// Test harness: a real http server on 127.0.0.1:0 with the gateway attached, a small
// in-memory GatewayBackend (the real one is the homeserver's), and a ws client that
// queues every frame so tests can await them in order.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { systemClock } from '../../src/clock.js';
import { createGateway } from '../../src/gateway/gateway-server.js';
import type { Dispatch, Gateway, GatewayBackend, GatewayIdentity, GatewayOptions } from '../../src/gateway/gateway-types.js';

export interface Frame {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

export const GUILD_A = '1100000000000000001';
export const APP_ID = '1000000000000000999';

export function user(id: string, bot = true): GatewayIdentity {
  return { user: { id, username: `user${id.slice(-3)}`, discriminator: '0', bot }, applicationId: APP_ID };
}

export class FakeBackend implements GatewayBackend {
  tokens = new Map<string, GatewayIdentity>();
  guilds = new Map<string, Record<string, unknown>[]>();
  members = new Map<string, Record<string, unknown>[]>(); // guildId → members
  presences: { userId: string; status: string }[] = [];
  voice: { userId: string; payload: Record<string, unknown> }[] = [];

  async authenticate(token: string): Promise<GatewayIdentity | null> {
    return this.tokens.get(token) ?? null;
  }
  async guildsFor(userId: string): Promise<Record<string, unknown>[]> {
    return this.guilds.get(userId) ?? [];
  }
  async requestGuildMembers(
    _userId: string,
    guildId: string,
    query: string,
    limit: number,
    options?: { userIds?: string[] },
  ): Promise<Record<string, unknown>[]> {
    const all = (this.members.get(guildId) ?? []).filter((m) => {
      const u = m.user as { id: string; username: string };
      return options?.userIds ? options.userIds.includes(u.id) : u.username.startsWith(query);
    });
    return limit === 0 ? all : all.slice(0, limit);
  }
  presenceChanged(userId: string, presence: { status: string }): void {
    this.presences.push({ userId, status: presence.status });
  }
  voiceStateUpdate(userId: string, payload: Record<string, unknown>): void {
    this.voice.push({ userId, payload });
  }
}

export interface Harness {
  gateway: Gateway;
  backend: FakeBackend;
  url: string; // ws://127.0.0.1:port/gateway
  server: http.Server;
  stop(): Promise<void>;
}

export async function startGateway(overrides: Partial<GatewayOptions> = {}, backend = new FakeBackend()): Promise<Harness> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `ws://127.0.0.1:${port}/gateway`;
  const gateway = createGateway({
    server,
    backend,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    resumeGatewayUrl: url,
    ...overrides,
  });
  return {
    gateway,
    backend,
    url,
    server,
    async stop() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export class Client {
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.waiter?.();
      }),
    );
  }

  static async connect(url: string, query = '?v=10&encoding=json'): Promise<Client> {
    const ws = new WebSocket(url + query);
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** The next frame, in arrival order; rejects if the socket closes first. */
  async next(): Promise<Frame> {
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame');
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = null;
    }
  }

  send(payload: unknown): void {
    this.ws.send(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  async hello(): Promise<Frame> {
    const f = await this.next();
    expect(f.op).toBe(10);
    return f;
  }

  /** HELLO, IDENTIFY, then READY; returns READY (GUILD_CREATEs follow in the queue). */
  async identify(token: string, intents: number | undefined, extra: Record<string, unknown> = {}): Promise<Frame> {
    await this.hello();
    this.send({ op: 2, d: { token, intents, properties: { os: 'linux', browser: 'test', device: 'test' }, ...extra } });
    const ready = await this.next();
    expect(ready.t).toBe('READY');
    return ready;
  }
}

/** Await a condition the server reaches asynchronously (polls; never asserts on time). */
export async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 5));
}

export function dispatch(t: string, d: Record<string, unknown>, recipients: string[], extra: Partial<Dispatch> = {}): Dispatch {
  return { t, d, intent: 0, recipients: new Set(recipients), ...extra };
}
