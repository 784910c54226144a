import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig, type Config } from '../../src/config.js';
import { startHomeserver, type Homeserver } from '../../src/homeserver.js';
import { createLogger, silentLogger } from '../../src/log.js';
import type { DatabaseOptions } from '../../src/store/database.js';

/** Starts a homeserver on a loopback port with a temp data dir (keys) and the given database. */
export async function startTestHomeserver(database: DatabaseOptions, overrides: Partial<Config> = {}): Promise<Homeserver & { cleanup(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nexus-test-'));
  const config = { ...loadConfig({}, { port: '0', 'data-dir': dataDir, 'server-name': 'test.local' }), ...overrides };
  // NEXUS_TEST_LOG=warn (or any level) shows the server's logs when a test misbehaves.
  const log = process.env.NEXUS_TEST_LOG ? createLogger({ level: process.env.NEXUS_TEST_LOG }) : silentLogger();
  const hs = await startHomeserver(config, { database, log, processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 } });
  return Object.assign(hs, {
    async cleanup() {
      await hs.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  });
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A tiny REST client for tests: JSON in, JSON out, `Authorization: <token>`. */
export function apiClient(base: string, token?: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(`${base}/api/v10${path}`, {
      method,
      headers: { ...(token ? { authorization: token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }
  return {
    get: <T = any>(p: string) => call<T>('GET', p),
    post: <T = any>(p: string, b?: unknown, h?: Record<string, string>) => call<T>('POST', p, b ?? {}, h),
    patch: <T = any>(p: string, b?: unknown) => call<T>('PATCH', p, b ?? {}),
    put: <T = any>(p: string, b?: unknown) => call<T>('PUT', p, b),
    delete: <T = any>(p: string) => call<T>('DELETE', p),
    raw: call,
  };
}

export async function registerUser(base: string, username: string, password = 'correct horse battery') {
  const res = await apiClient(base).post('/auth/register', { username, password });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.token as string, id: res.body.user_id as string, api: apiClient(base, res.body.token) };
}

/** A gateway client that identifies and records every dispatch it receives. */
export class GatewayClient {
  readonly dispatches: Array<{ t: string; s: number; d: any }> = [];
  ws!: WebSocket;
  sessionId = '';
  seq = 0;
  private waiters: Array<() => void> = [];
  closeCode?: number;

  static async connect(url: string, token: string, intents = 0xffff | (1 << 15)): Promise<GatewayClient> {
    const c = new GatewayClient();
    await c.open(url, { op: 2, d: { token, intents, properties: { os: 'linux', browser: 'nexus-test', device: 'nexus-test' } } });
    await c.waitFor((d) => d.t === 'READY');
    return c;
  }

  async open(url: string, hello: unknown): Promise<void> {
    this.ws = new WebSocket(`${url}?v=10&encoding=json`);
    this.ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.op === 10) this.ws.send(JSON.stringify(hello));
      if (msg.op === 0) {
        this.seq = msg.s;
        if (msg.t === 'READY') this.sessionId = msg.d.session_id;
        this.dispatches.push({ t: msg.t, s: msg.s, d: msg.d });
      }
      if (msg.op === 9) this.dispatches.push({ t: 'INVALID_SESSION', s: -1, d: msg.d });
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /** Waits until a dispatch matching `pred` has arrived (or throws after `ms`). */
  async waitFor(pred: (d: { t: string; d: any }) => boolean, ms = 10_000): Promise<{ t: string; s: number; d: any }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.dispatches.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting; got ${this.dispatches.map((d) => d.t).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  of(t: string) {
    return this.dispatches.filter((d) => d.t === t);
  }

  close(): void {
    this.ws.close();
  }
}
