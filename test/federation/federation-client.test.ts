// The outbound client against real sockets: each failure must land in the right kind, and
// "nobody answered" must never look like "the peer said no".
import express from 'express';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { createFederationClient } from '../../src/federation/federation-client.js';
import type { FederationClientOptions } from '../../src/federation/federation-client.js';
import { createServerResolver } from '../../src/federation/discovery.js';
import { classifyError, FederationRequestError } from '../../src/federation/errors.js';
import { parseXNexusHeader } from '../../src/federation/request-signing.js';
import { FakeClock } from './federation-harness.js';

const clock = new FakeClock();
const key = generateSigningKey('c1');
let http: Server;
let peer: string; // 127.0.0.1:PORT of the express peer
let connections = 0;
let lastAuth: string | undefined;

beforeAll(async () => {
  const app = express();
  app.use((req, _res, next) => {
    lastAuth = req.headers.authorization;
    next();
  });
  app.get('/ok', (req, res) => res.json({ ok: true, host: req.headers.host }));
  app.get('/empty', (_req, res) => res.status(204).end());
  app.get('/500', (_req, res) => res.status(500).json({ errcode: 'N_UNKNOWN', error: 'boom' }));
  app.get('/503-text', (_req, res) => res.status(503).type('text/plain').send('overloaded'));
  app.get('/403', (_req, res) => res.status(403).json({ errcode: 'N_FORBIDDEN', error: 'not you' }));
  app.get('/404', (_req, res) => res.status(404).json({ errcode: 'N_NOT_FOUND', error: 'no such event' }));
  app.get('/429', (_req, res) => res.status(429).json({ errcode: 'N_LIMIT_EXCEEDED', error: 'slow down' }));
  app.get('/302', (_req, res) => res.redirect(302, '/ok'));
  app.get('/not-json', (_req, res) => res.type('text/html').send('<html>hello</html>'));
  app.get('/big', (_req, res) => res.json({ blob: 'x'.repeat(200_000) }));
  app.get('/big-chunked', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.write('{"blob":"');
    for (let i = 0; i < 20; i++) res.write('x'.repeat(10_000));
    res.end('"}');
  });
  app.get('/big-error', (_req, res) => res.status(500).json({ blob: 'x'.repeat(200_000) }));
  app.get('/slow-body', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.write('{"partial":'); // and never finishes
  });
  http = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  http.on('connection', () => (connections += 1));
  peer = `127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

const resolver = createServerResolver({ clock, insecure: true });
function client(extra: Partial<FederationClientOptions> = {}) {
  return createFederationClient({
    serverName: 'me.example:1',
    signingKey: () => key,
    resolve: (s) => resolver.resolveServer(s),
    insecure: true,
    timeoutMs: 2_000,
    maxResponseBytes: 100_000,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<FederationRequestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FederationRequestError);
  expect(classifyError(err)).toBe((err as FederationRequestError).kind);
  return err as FederationRequestError;
}

describe('successes', () => {
  it('signs the request, sends the Host header, parses JSON, reuses its connections', async () => {
    const c = client();
    const before = connections;
    for (let i = 0; i < 10; i++) expect(await c.get(peer, '/ok')).toEqual({ ok: true, host: peer });
    // Keep-alive: undici's pool may open a second socket while the first is being released
    // after the first response, but from then on the sockets are reused.
    expect(connections - before).toBeLessThanOrEqual(2);
    const auth = parseXNexusHeader(lastAuth);
    expect(auth).toEqual({ ok: true, auth: { origin: 'me.example:1', destination: peer, key: 'ed25519:c1', sig: expect.any(String) } });
    expect(await c.get(peer, '/empty')).toEqual({});
    await c.close();
  });

  it('sends no Authorization when sign: false', async () => {
    const c = client();
    await c.request(peer, 'GET', '/ok', { sign: false });
    expect(lastAuth).toBeUndefined();
    await c.close();
  });
});

describe('failure kinds', () => {
  const c = client();
  afterAll(() => c.close());

  it('connection refused → unreachable (no status)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const err = await failure(c.get(`127.0.0.1:${closed}`, '/ok'));
    expect(err.kind).toBe('unreachable');
    expect(err.status).toBeUndefined();
  });

  it('500 → server_error with the peer errcode; 503 text → server_error', async () => {
    expect(await failure(c.get(peer, '/500'))).toMatchObject({ kind: 'server_error', status: 500, errcode: 'N_UNKNOWN', message: expect.stringMatching(/boom/) });
    expect(await failure(c.get(peer, '/503-text'))).toMatchObject({ kind: 'server_error', status: 503 });
  });

  it('403 and 404 → rejected; 429 → server_error (retry later)', async () => {
    expect(await failure(c.get(peer, '/403'))).toMatchObject({ kind: 'rejected', status: 403, errcode: 'N_FORBIDDEN' });
    expect(await failure(c.get(peer, '/404'))).toMatchObject({ kind: 'rejected', status: 404, errcode: 'N_NOT_FOUND' });
    expect(await failure(c.get(peer, '/429'))).toMatchObject({ kind: 'server_error', status: 429 });
  });

  it('a redirect or a non-JSON success → bad_response', async () => {
    expect(await failure(c.get(peer, '/302'))).toMatchObject({ kind: 'bad_response', status: 302 });
    expect(await failure(c.get(peer, '/not-json'))).toMatchObject({ kind: 'bad_response', status: 200 });
  });

  it('a response above maxResponseBytes → bad_response, declared or streamed; an oversized error keeps its status kind', async () => {
    expect(await failure(c.get(peer, '/big'))).toMatchObject({ kind: 'bad_response', message: expect.stringMatching(/larger than 100000/) });
    expect(await failure(c.get(peer, '/big-chunked'))).toMatchObject({ kind: 'bad_response', message: expect.stringMatching(/larger than 100000/) });
    expect(await failure(c.get(peer, '/big-error'))).toMatchObject({ kind: 'server_error', status: 500 });
    expect(await c.get(peer, '/ok')).toMatchObject({ ok: true }); // the client is still fine
  });

  it('plain HTTP is refused unless insecure', async () => {
    const strict = client({ insecure: false });
    const before = connections;
    expect(await failure(strict.get(peer, '/ok'))).toMatchObject({ kind: 'unreachable', message: expect.stringMatching(/plain HTTP/) });
    expect(connections).toBe(before);
    await strict.close();
  });

  it('a malformed destination → unreachable', async () => {
    expect(await failure(c.get('not a name', '/ok'))).toMatchObject({ kind: 'unreachable' });
  });
});

describe('timeouts', () => {
  let silent: NetServer;
  let silentName: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts connections and never says a word.
    silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentName = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('a server that never answers → timeout', async () => {
    const c = client({ timeoutMs: 200 });
    expect(await failure(c.get(silentName, '/ok'))).toMatchObject({ kind: 'timeout' });
    await c.close();
  });

  it('a body that never ends → timeout', async () => {
    const c = client({ timeoutMs: 300 });
    expect(await failure(c.get(peer, '/slow-body'))).toMatchObject({ kind: 'timeout', status: 200 });
    await c.close();
  });
});

describe('connections dropped before an answer', () => {
  // A raw peer that reads each request and then either answers or drops the socket, as a
  // peer does with a keep-alive socket it has already timed out.
  async function peerThat(drops: number): Promise<{ name: string; requests: () => number; auths: string[]; close: () => Promise<void> }> {
    let seen = 0;
    const auths: string[] = [];
    const sockets = new Set<Socket>();
    const server = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('data', (chunk) => {
        if (!String(chunk).includes('\r\n\r\n')) return;
        seen += 1;
        auths.push(/^authorization: (.*)$/im.exec(String(chunk))?.[1] ?? '');
        if (seen <= drops) return void s.destroy();
        const body = JSON.stringify({ ok: true, attempt: seen });
        s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      name: `127.0.0.1:${(server.address() as AddressInfo).port}`,
      requests: () => seen,
      auths,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('is retried once on a fresh connection, with the same signed request', async () => {
    const p = await peerThat(1);
    const c = client();
    expect(await c.put(p.name, '/send/t1', { pdus: [] })).toEqual({ ok: true, attempt: 2 });
    expect(p.requests()).toBe(2);
    expect(p.auths[0]).toMatch(/^X-Nexus /);
    expect(p.auths[1]).toBe(p.auths[0]);
    await c.close();
    await p.close();
  });

  it('twice in a row → unreachable, after exactly two attempts', async () => {
    const p = await peerThat(Infinity);
    const c = client();
    expect(await failure(c.get(p.name, '/ok'))).toMatchObject({ kind: 'unreachable', status: undefined });
    expect(p.requests()).toBe(2);
    await c.close();
    await p.close();
  });
});
