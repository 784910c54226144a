// Server discovery: the pure parsing rules, then well-known delegation served by a real
// express app on loopback (the resolver's wellKnownUrl points there, so no DNS is used).
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerResolver, parseServerName, WELL_KNOWN_PATH } from '../../src/federation/discovery.js';
import type { ServerResolverOptions } from '../../src/federation/discovery.js';
import { ECHO_PATH, FakeClock, startTestServer, trustEachOther } from './federation-harness.js';

describe('parseServerName', () => {
  it.each([
    ['example.org', { host: 'example.org', kind: 'dns' }],
    ['Example.ORG:8448', { host: 'Example.ORG', port: 8448, kind: 'dns' }],
    ['localhost', { host: 'localhost', kind: 'dns' }],
    ['127.0.0.1', { host: '127.0.0.1', kind: 'ipv4' }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1, kind: 'ipv4' }],
    ['[::1]', { host: '[::1]', kind: 'ipv6' }],
    ['[2001:db8::7]:65535', { host: '[2001:db8::7]', port: 65535, kind: 'ipv6' }],
  ])('%s', (name, parsed) => expect(parseServerName(name)).toEqual(parsed));

  it.each(['', 'a.example:', 'a.example:0', 'a.example:65536', 'a.example:+80', 'a.example:80:80', 'a_b.example', '-a.example', '::1', '[::1', '[nope]', '[::1]x', '999.1.1.1', 'a b', 'x'.repeat(256), 'a.example/path'])(
    'refuses %j',
    (name) => expect(parseServerName(name)).toBeUndefined(),
  );
});

describe('resolveServer without a well-known', () => {
  const clock = new FakeClock();
  let lookups: string[] = [];
  const resolver = (extra: Partial<ServerResolverOptions> = {}) =>
    createServerResolver({
      clock,
      fetchWellKnown: async (url) => {
        lookups.push(url);
        throw new Error('not found');
      },
      ...extra,
    });
  beforeEach(() => {
    lookups = [];
  });

  it('an explicit port goes direct, no well-known', async () => {
    expect(await resolver().resolveServer('b.example:8008')).toEqual({ serverName: 'b.example:8008', baseUrl: 'https://b.example:8008', hostHeader: 'b.example:8008' });
    expect(lookups).toEqual([]);
  });

  it('an IP literal goes to port 8448, no well-known', async () => {
    expect(await resolver().resolveServer('10.0.0.1')).toEqual({ serverName: '10.0.0.1', baseUrl: 'https://10.0.0.1:8448', hostHeader: '10.0.0.1' });
    expect(await resolver({ insecure: true }).resolveServer('[::1]')).toEqual({ serverName: '[::1]', baseUrl: 'http://[::1]:8448', hostHeader: '[::1]' });
    expect(lookups).toEqual([]);
  });

  it('a name whose well-known fails falls back to name:8448, and the failure is cached', async () => {
    const r = resolver();
    expect(await r.resolveServer('b.example')).toEqual({ serverName: 'b.example', baseUrl: 'https://b.example:8448', hostHeader: 'b.example' });
    await r.resolveServer('b.example');
    expect(lookups).toEqual([`https://b.example${WELL_KNOWN_PATH}`]);
    clock.advance(10 * 60_000);
    await r.resolveServer('b.example');
    expect(lookups).toHaveLength(2);
  });

  it('a malformed name is a TypeError', async () => {
    await expect(resolver().resolveServer('bad name')).rejects.toThrow(TypeError);
  });
});

describe('well-known delegation over HTTP', () => {
  const clock = new FakeClock();
  let server: Server;
  let base: string;
  const answers = new Map<string, { status?: number; body: string; headers?: Record<string, string> }>();
  let hits: string[] = [];

  beforeAll(async () => {
    const app = express();
    // One app plays every host name: /<hostname>/.well-known/nexus/server
    app.get(/^\/([^/]+)\/\.well-known\/nexus\/server$/, (req, res) => {
      const host = (req.params as Record<string, string>)[0]!;
      hits.push(host);
      const a = answers.get(host);
      if (a === undefined) return void res.status(404).json({ errcode: 'N_NOT_FOUND', error: 'no' });
      res.status(a.status ?? 200).set({ 'content-type': 'application/json', ...a.headers }).send(a.body);
    });
    app.get('/moved', (_req, res) => res.redirect(302, `${base}/redirected.example${WELL_KNOWN_PATH}`));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    hits = [];
  });

  const resolver = () =>
    createServerResolver({ clock, insecure: true, wellKnownUrl: (h) => (h === 'moved.example' ? `${base}/moved` : `${base}/${h}${WELL_KNOWN_PATH}`) });

  it('delegates to host:port (Host header = the delegated name), cached for 24 h by default', async () => {
    answers.set('a.example', { body: JSON.stringify({ server: 'fed.a.example:8000' }) });
    const r = resolver();
    const expected = { serverName: 'a.example', baseUrl: 'http://fed.a.example:8000', hostHeader: 'fed.a.example:8000' };
    expect(await r.resolveServer('a.example')).toEqual(expected);
    clock.advance(23 * 3600_000);
    expect(await r.resolveServer('a.example')).toEqual(expected);
    expect(hits).toEqual(['a.example']);
    clock.advance(2 * 3600_000);
    await r.resolveServer('a.example');
    expect(hits).toEqual(['a.example', 'a.example']);
    await r.close();
  });

  it('delegates to a name without port → 8448, and to an IP literal', async () => {
    answers.set('b.example', { body: JSON.stringify({ server: 'fed.b.example' }) });
    answers.set('c.example', { body: JSON.stringify({ server: '[2001:db8::1]' }) });
    const r = resolver();
    expect(await r.resolveServer('b.example')).toEqual({ serverName: 'b.example', baseUrl: 'http://fed.b.example:8448', hostHeader: 'fed.b.example' });
    expect(await r.resolveServer('c.example')).toEqual({ serverName: 'c.example', baseUrl: 'http://[2001:db8::1]:8448', hostHeader: '[2001:db8::1]' });
    await r.close();
  });

  it.each([
    ['404', undefined],
    ['invalid JSON', { body: '{"server":' }],
    ['no server member', { body: '{"m.server":"x.example"}' }],
    ['an invalid server name', { body: '{"server":"bad name:1"}' }],
    ['a 500', { status: 500, body: '{"server":"fed.example"}' }],
    ['a body above the size cap', { body: JSON.stringify({ server: 'fed.example', pad: 'x'.repeat(70_000) }) }],
  ])('falls back to name:8448 on %s', async (_what, answer) => {
    if (answer) answers.set('d.example', answer);
    else answers.delete('d.example');
    const r = resolver();
    expect(await r.resolveServer('d.example')).toEqual({ serverName: 'd.example', baseUrl: 'http://d.example:8448', hostHeader: 'd.example' });
    expect(hits).toEqual(['d.example']);
    await r.close();
  });

  it('honours Cache-Control max-age, within [5 min, 48 h]', async () => {
    answers.set('e.example', { body: '{"server":"fed.e.example:1"}', headers: { 'cache-control': 'public, max-age=600' } });
    const r = resolver();
    await r.resolveServer('e.example');
    clock.advance(599_000);
    await r.resolveServer('e.example');
    expect(hits).toHaveLength(1);
    clock.advance(1_000);
    await r.resolveServer('e.example');
    expect(hits).toHaveLength(2);
    await r.close();
  });

  it('follows a redirect', async () => {
    answers.set('redirected.example', { body: '{"server":"fed.r.example:9"}' });
    const r = resolver();
    expect(await r.resolveServer('moved.example')).toMatchObject({ baseUrl: 'http://fed.r.example:9', hostHeader: 'fed.r.example:9' });
    await r.close();
  });

  it('concurrent resolutions share one fetch', async () => {
    answers.set('f.example', { body: '{"server":"fed.f.example:2"}' });
    const r = resolver();
    const all = await Promise.all(Array.from({ length: 10 }, () => r.resolveServer('f.example')));
    expect(new Set(all.map((x) => x.baseUrl))).toEqual(new Set(['http://fed.f.example:2']));
    expect(hits).toEqual(['f.example']);
    await r.close();
  });

  it('end to end: a request to a bare name reaches the delegated server with the right Host header', async () => {
    const fedClock = new FakeClock();
    // B's server name is b.test; its well-known (served above) delegates to 127.0.0.1:<B's port>.
    const r = resolver();
    const A = await startTestServer({ clock: fedClock, resolver: r });
    const B = await startTestServer({ clock: fedClock, name: 'b.test' });
    answers.set('b.test', { body: JSON.stringify({ server: B.url.replace('http://', '') }) });
    trustEachOther(A, B);
    try {
      const out = await A.client.get(B.name, ECHO_PATH);
      expect(out).toMatchObject({ origin: A.name, host: B.url.replace('http://', '') });
      expect(hits).toEqual(['b.test']);
    } finally {
      await Promise.all([A.close(), B.close()]);
      await r.close();
    }
  });
});
