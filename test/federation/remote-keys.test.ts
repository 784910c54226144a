// The remote key store against real key endpoints on loopback, with a fake clock.
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signJson } from '../../src/events/signing.js';
import { createVerifyKeyCache, generateSigningKey } from '../../src/events/signing-key.js';
import { buildServerKeysResponse, KEY_SERVER_PATH } from '../../src/federation/key-server.js';
import { createRemoteKeyStore, verifyServerKeysDocument } from '../../src/federation/remote-keys.js';
import type { RemoteKeyStoreOptions } from '../../src/federation/remote-keys.js';
import { signRequest } from '../../src/federation/request-signing.js';
import { request } from 'undici';
import { ECHO_PATH, FakeClock, startTestServer, trustEachOther } from './federation-harness.js';
import type { TestServer } from './federation-harness.js';

const HOUR = 3600_000;

describe('verifyServerKeysDocument (pure)', () => {
  const key = generateSigningKey('k1');
  const name = 'a.example';
  const doc = buildServerKeysResponse(name, { current: key, old: [{ keyId: 'ed25519:k0', publicKeyBase64: generateSigningKey('k0').publicKeyBase64, expiredTs: 5 }] }, 1000);
  const cache = createVerifyKeyCache();

  it('accepts a self-signed document and returns current and retired keys', () => {
    const r = verifyServerKeysDocument(doc, name, cache);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.keys.validUntilTs).toBe(doc.valid_until_ts);
    expect([...r.keys.keys.values()].map((k) => [k.keyId, k.expiredTs])).toEqual([
      ['ed25519:k1', undefined],
      ['ed25519:k0', 5],
    ]);
  });

  it.each([
    ['another server_name', () => verifyServerKeysDocument(doc, 'b.example', cache), /server_name/],
    ['a tampered member', () => verifyServerKeysDocument({ ...doc, valid_until_ts: doc.valid_until_ts + 1 }, name, cache), /not signed/],
    ['a signature by another key', () => verifyServerKeysDocument(signJson({ ...doc, signatures: {} }, name, { ...generateSigningKey('k1') }), name, cache), /not signed/],
    ['no signatures', () => verifyServerKeysDocument({ ...doc, signatures: {} }, name, cache), /not signed/],
    ['an old key without expired_ts', () => verifyServerKeysDocument({ ...doc, old_verify_keys: { 'ed25519:x': { key: key.publicKeyBase64 } } }, name, cache), /expired_ts/],
    ['a key that is not 32 bytes', () => verifyServerKeysDocument({ ...doc, verify_keys: { 'ed25519:k1': { key: 'AAAA' } } }, name, cache), /32 bytes/],
    ['no current key', () => verifyServerKeysDocument({ ...doc, verify_keys: {} }, name, cache), /no ed25519 key/],
    ['not an object', () => verifyServerKeysDocument([doc], name, cache), /object/],
  ])('refuses %s', (_what, run, reason) => {
    const r = run();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('remote key store over HTTP', () => {
  const clock = new FakeClock();
  let A: TestServer;
  let B: TestServer;

  beforeAll(async () => {
    A = await startTestServer({ clock });
    B = await startTestServer({ clock });
    trustEachOther(A, B);
  });
  afterAll(async () => {
    await Promise.all([A.close(), B.close()]);
  });

  it('key rotation: a request signed with the new key triggers a refetch and verifies; the old key verifies only before its expired_ts', async () => {
    await A.client.get(B.name, ECHO_PATH); // B now caches A's first key
    const oldKey = A.keys.current;
    const signedBefore = clock.now() - 1;
    clock.advance(60_000); // past the refetch interval, well inside the cache lifetime
    A.rotate();
    const fetches = A.keyFetches;
    await expect(A.client.get(B.name, ECHO_PATH)).resolves.toMatchObject({ origin: A.name });
    expect(A.keyFetches).toBe(fetches + 1);

    const old = await B.keyStore.lookup(A.name, oldKey.keyId, signedBefore);
    expect(old).toMatchObject({ ok: true, key: { publicKeyBase64: oldKey.publicKeyBase64, expiredTs: clock.now() } });
    expect(await B.keyStore.lookup(A.name, oldKey.keyId)).toEqual({ ok: false, reason: expect.stringMatching(/expired/) });
    // A request signed now with the retired key is refused.
    const res = await request(B.url + ECHO_PATH, {
      headers: { authorization: signRequest({ method: 'GET', uri: ECHO_PATH, origin: A.name, destination: B.name }, oldKey) },
    });
    expect(res.statusCode).toBe(401);
    expect(await res.body.json()).toMatchObject({ errcode: 'N_UNAUTHORIZED', error: expect.stringMatching(/expired/) });
    expect(A.keyFetches).toBe(fetches + 1); // the retired key was known: no refetch for it
  });

  it('unknown key ids refetch at most once per interval per server', async () => {
    clock.advance(60_000);
    const fetches = A.keyFetches;
    expect(await B.keyStore.lookup(A.name, 'ed25519:unknown1')).toMatchObject({ ok: false });
    expect(await B.keyStore.lookup(A.name, 'ed25519:unknown2')).toMatchObject({ ok: false });
    expect(await B.keyStore.lookup(A.name, 'ed25519:unknown3')).toMatchObject({ ok: false });
    expect(A.keyFetches).toBe(fetches + 1);
    clock.advance(30_000);
    await B.keyStore.lookup(A.name, 'ed25519:unknown1');
    expect(A.keyFetches).toBe(fetches + 2);
  });

  it('concurrent lookups for one server share one fetch', async () => {
    const store = createRemoteKeyStore({ clock, fetchKeys: (s) => B.client.request(s, 'GET', KEY_SERVER_PATH, { sign: false }) });
    const fetches = A.keyFetches;
    const results = await Promise.all(Array.from({ length: 20 }, () => store.getVerifyKey(A.name, A.keys.current.keyId)));
    expect(A.keyFetches).toBe(fetches + 1);
    expect(results.every((k) => k !== undefined && k === results[0])).toBe(true);
  });

  it('caches until valid_until_ts, then refetches; keeps stale keys if the refetch fails', async () => {
    let fetches = 0;
    let failing = false;
    const store = createRemoteKeyStore({
      clock,
      fetchKeys: async (s) => {
        fetches += 1;
        if (failing) throw new Error('connection refused');
        return B.client.request(s, 'GET', KEY_SERVER_PATH, { sign: false });
      },
    });
    const keyId = A.keys.current.keyId;
    expect((await store.lookup(A.name, keyId)).ok).toBe(true);
    clock.advance(23 * HOUR); // A's answer is valid for 24 h
    expect((await store.lookup(A.name, keyId)).ok).toBe(true);
    expect(fetches).toBe(1);
    clock.advance(2 * HOUR);
    failing = true;
    expect((await store.lookup(A.name, keyId)).ok).toBe(true); // stale, but still the key
    expect(fetches).toBe(2);
    expect((await store.lookup(A.name, keyId)).ok).toBe(true);
    expect(fetches).toBe(2); // a failure also waits out the refetch interval
    failing = false;
    clock.advance(30_000);
    expect((await store.lookup(A.name, keyId)).ok).toBe(true);
    expect(fetches).toBe(3);
  });

  it('reports why when a server was never reachable', async () => {
    const store = createRemoteKeyStore({ clock, fetchKeys: () => B.client.request('127.0.0.1:1', 'GET', KEY_SERVER_PATH, { sign: false }) });
    expect(await store.lookup('127.0.0.1:1', 'ed25519:x')).toEqual({ ok: false, reason: expect.stringMatching(/could not fetch keys.*unreachable/) });
  });
});

describe('refusing bad key documents from a real endpoint', () => {
  const clock = new FakeClock();
  let server: Server;
  let name: string;
  let serve: (name: string) => unknown;

  beforeAll(async () => {
    const app = express();
    app.get(KEY_SERVER_PATH, (_req, res) => res.json(serve(name)));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function lookupWith(doc: (name: string) => unknown, keyId: string) {
    serve = doc;
    const errors: string[] = [];
    const B = await startTestServer({ clock });
    try {
      const store = createRemoteKeyStore({
        clock,
        fetchKeys: (s) => B.client.request(s, 'GET', KEY_SERVER_PATH, { sign: false }),
        onFetchError: (_s, reason) => errors.push(reason),
      });
      return { result: await store.lookup(name, keyId), errors };
    } finally {
      await B.close();
    }
  }

  it('a document signed by a key other than the one it lists', async () => {
    const listed = generateSigningKey('v1');
    const signer = generateSigningKey('v1'); // same id, other key: a forger's
    const { result, errors } = await lookupWith(
      (n) => signJson({ ...buildServerKeysResponse(n, { current: listed, old: [] }, clock.now()), signatures: {} }, n, signer),
      'ed25519:v1',
    );
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/not signed by its own key/) });
    expect(errors).toEqual([expect.stringMatching(/refused key document/)]);
  });

  it('a document for another server_name', async () => {
    const key = generateSigningKey('v1');
    const { result } = await lookupWith(() => buildServerKeysResponse('evil.example', { current: key, old: [] }, clock.now()), 'ed25519:v1');
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/server_name/) });
  });

  it('a valid document is accepted (control)', async () => {
    const key = generateSigningKey('v1');
    const { result } = await lookupWith((n) => buildServerKeysResponse(n, { current: key, old: [] }, clock.now()), 'ed25519:v1');
    expect(result).toMatchObject({ ok: true, key: { publicKeyBase64: key.publicKeyBase64 } });
  });
});

describe('cache bounds (in-process fetch)', () => {
  const key = generateSigningKey('v1');
  function store(extra: Partial<RemoteKeyStoreOptions>, validUntil: (now: number) => number) {
    const clock = new FakeClock();
    let fetches = 0;
    const s = createRemoteKeyStore({
      clock,
      fetchKeys: async (name) => {
        fetches += 1;
        return { ...buildServerKeysResponse(name, { current: key, old: [] }, 0, validUntil(clock.now())) };
      },
      ...extra,
    });
    return { s, clock, fetches: () => fetches };
  }

  it('an already-expired valid_until_ts is still cached for the minimum time', async () => {
    const { s, clock, fetches } = store({}, () => 0);
    await s.lookup('a.example', key.keyId);
    clock.advance(4 * 60_000);
    await s.lookup('a.example', key.keyId);
    expect(fetches()).toBe(1);
    clock.advance(2 * 60_000);
    await s.lookup('a.example', key.keyId);
    expect(fetches()).toBe(2);
  });

  it('a far-future valid_until_ts is capped at 7 days', async () => {
    const { s, clock, fetches } = store({}, (now) => now + 365 * 24 * HOUR);
    await s.lookup('a.example', key.keyId);
    clock.advance(7 * 24 * HOUR - 1);
    await s.lookup('a.example', key.keyId);
    expect(fetches()).toBe(1);
    clock.advance(1);
    await s.lookup('a.example', key.keyId);
    expect(fetches()).toBe(2);
  });

  it('remembers at most maxServers servers', async () => {
    const { s, fetches } = store({ maxServers: 2 }, (now) => now + HOUR);
    for (const n of ['a.example', 'b.example', 'c.example']) await s.lookup(n, key.keyId);
    await s.lookup('c.example', key.keyId);
    await s.lookup('b.example', key.keyId);
    expect(fetches()).toBe(3);
    await s.lookup('a.example', key.keyId); // evicted
    expect(fetches()).toBe(4);
  });
});
