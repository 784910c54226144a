// Inbound request authentication over real HTTP: servers A and B trust each other, C is a
// stranger. Every refusal must carry the right status and errcode and never reach a route.
import { Readable } from 'node:stream';
import { request } from 'undici';
import { generateSigningKey, signingKeyFromSeed } from '../../src/events/signing-key.js';
import type { SigningKey } from '../../src/events/signing-key.js';
import { signRequest } from '../../src/federation/request-signing.js';
import type { RequestSigningInput } from '../../src/federation/request-signing.js';
import { ECHO_PATH, FakeClock, startTestServer, trustEachOther } from './federation-harness.js';
import type { TestServer } from './federation-harness.js';

const clock = new FakeClock();
let A: TestServer;
let B: TestServer;
let C: TestServer;

beforeAll(async () => {
  A = await startTestServer({ clock });
  B = await startTestServer({ clock, maxBodyBytes: 64 * 1024 });
  C = await startTestServer({ clock });
  trustEachOther(A, B);
});
afterAll(async () => {
  await Promise.all([A.close(), B.close(), C.close()]);
});
beforeEach(() => {
  B.handled.length = 0;
  B.rejections.length = 0;
});

/** Sends to B exactly what we say, with a header signed over `signed` (defaults: the same). */
async function sendRaw(opts: {
  method: string;
  uri: string;
  body?: string;
  signed?: Partial<RequestSigningInput>;
  key?: SigningKey;
  authorization?: string | null;
}) {
  const content = opts.body === undefined ? undefined : (JSON.parse(opts.body) as unknown);
  const input: RequestSigningInput = { method: opts.method, uri: opts.uri, origin: A.name, destination: B.name, content, ...opts.signed };
  const headers: Record<string, string> = {};
  if (opts.authorization !== null) headers.authorization = opts.authorization ?? signRequest(input, opts.key ?? A.keys.current);
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(B.url + opts.uri, { method: opts.method as 'GET', headers, body: opts.body });
  const text = await res.body.text();
  return { status: res.statusCode, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

async function expectRefused(p: ReturnType<typeof sendRaw>, status: number, errcode: string, reason?: RegExp) {
  const res = await p;
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ errcode, error: expect.any(String) });
  if (reason) expect(res.body!.error).toMatch(reason);
  expect(B.handled).toEqual([]); // nothing reached a route, so nothing could be stored
  expect(B.rejections).toEqual([{ status, errcode, reason: res.body!.error }]);
}

describe('accepted requests', () => {
  it('a signed GET from a trusted server reaches the route with res.locals.origin set', async () => {
    const out = await A.client.get<Record<string, unknown>>(B.name, `${ECHO_PATH}?x=1&y=%24abc`);
    expect(out).toEqual({ origin: A.name, method: 'GET', url: `${ECHO_PATH}?x=1&y=%24abc`, host: B.name });
    expect(B.handled).toHaveLength(1);
  });

  it('a signed PUT and POST deliver the parsed body as req.body', async () => {
    const body = { pdus: [{ type: 'nexus.message', content: { body: 'héllo ✓' } }], edus: [] };
    expect(await A.client.put(B.name, ECHO_PATH, body)).toMatchObject({ method: 'PUT', body });
    expect(await A.client.post(B.name, ECHO_PATH, { n: 1 })).toMatchObject({ method: 'POST', body: { n: 1 }, origin: A.name });
  });

  it('the signature covers the parsed content, not the bytes: any serialisation verifies', async () => {
    const res = await sendRaw({ method: 'PUT', uri: ECHO_PATH, body: '{ "b" : 2,\n "a": [1, 2] }' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ body: { a: [1, 2], b: 2 } });
  });

  it('what the client signs is what it sends, even for values JSON reshapes (undefined, toJSON)', async () => {
    const out = await A.client.put(B.name, ECHO_PATH, { gone: undefined, when: new Date(0), n: 1 });
    expect(out).toMatchObject({ body: { when: '1970-01-01T00:00:00.000Z', n: 1 } });
  });

  it('leaves paths outside /_nexus/federation/v1 alone', async () => {
    const res = await request(`${B.url}/_nexus/key/v1/server`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  });
});

describe('refused requests', () => {
  const body = JSON.stringify({ pdus: [], n: 1 });

  it('missing Authorization header → 401', () =>
    expectRefused(sendRaw({ method: 'GET', uri: ECHO_PATH, authorization: null }), 401, 'N_UNAUTHORIZED', /no Authorization/));

  it('another scheme → 401', () =>
    expectRefused(sendRaw({ method: 'GET', uri: ECHO_PATH, authorization: 'Bearer abc' }), 401, 'N_UNAUTHORIZED', /scheme/));

  it('malformed header → 401', () =>
    expectRefused(
      sendRaw({ method: 'GET', uri: ECHO_PATH, authorization: `X-Nexus origin="${A.name}",destination="${B.name}",key="ed25519:v0"` }),
      401,
      'N_UNAUTHORIZED',
      /missing parameter sig/,
    ));

  it('tampered body → 401', () =>
    expectRefused(
      sendRaw({ method: 'PUT', uri: ECHO_PATH, body, signed: { content: { pdus: [], n: 2 } } }),
      401,
      'N_UNAUTHORIZED',
      /invalid request signature/,
    ));

  it('body added to a request signed without one → 401', () =>
    expectRefused(sendRaw({ method: 'PUT', uri: ECHO_PATH, body, signed: { content: undefined } }), 401, 'N_UNAUTHORIZED'));

  it('wrong method → 401', () =>
    expectRefused(sendRaw({ method: 'POST', uri: ECHO_PATH, body, signed: { method: 'PUT' } }), 401, 'N_UNAUTHORIZED'));

  it('wrong uri (query changed) → 401', () =>
    expectRefused(sendRaw({ method: 'GET', uri: `${ECHO_PATH}?limit=2`, signed: { uri: `${ECHO_PATH}?limit=1` } }), 401, 'N_UNAUTHORIZED'));

  it('wrong destination → 401, before any key fetch', async () => {
    const fetches = A.keyFetches;
    await expectRefused(
      sendRaw({ method: 'GET', uri: ECHO_PATH, signed: { destination: 'elsewhere.example' } }),
      401,
      'N_UNAUTHORIZED',
      /elsewhere\.example/,
    );
    expect(A.keyFetches).toBe(fetches);
  });

  it('a key id the origin does not publish → 401', () =>
    expectRefused(sendRaw({ method: 'GET', uri: ECHO_PATH, key: generateSigningKey('nope') }), 401, 'N_UNAUTHORIZED', /ed25519:nope/));

  it('the right key id with the wrong private key → 401', () =>
    expectRefused(
      sendRaw({ method: 'GET', uri: ECHO_PATH, key: signingKeyFromSeed(Buffer.alloc(32, 7), A.keys.current.version) }),
      401,
      'N_UNAUTHORIZED',
      /invalid request signature/,
    ));

  it('an untrusted origin with a valid signature → 403, and its keys are never fetched', async () => {
    const fetches = C.keyFetches;
    const res = await C.client.get(B.name, ECHO_PATH).catch((e: unknown) => e);
    expect(res).toMatchObject({ kind: 'rejected', status: 403, errcode: 'N_FORBIDDEN' });
    expect(B.handled).toEqual([]);
    expect(C.keyFetches).toBe(fetches);
  });

  it('a body that is not JSON, or not an object → 400 N_NOT_JSON', async () => {
    const notJson = await request(B.url + ECHO_PATH, {
      method: 'PUT',
      headers: { authorization: signRequest({ method: 'PUT', uri: ECHO_PATH, origin: A.name, destination: B.name }, A.keys.current) },
      body: '{nope',
    });
    expect(notJson.statusCode).toBe(400);
    expect(await notJson.body.json()).toMatchObject({ errcode: 'N_NOT_JSON' });
    const array = await sendRaw({ method: 'PUT', uri: ECHO_PATH, body: '[1,2]' });
    expect(array).toMatchObject({ status: 400, body: { errcode: 'N_NOT_JSON' } });
    expect(B.handled).toEqual([]);
  });

  it('a body above the limit → 413, declared or chunked', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(100 * 1024) });
    await expectRefused(sendRaw({ method: 'PUT', uri: ECHO_PATH, body: big }), 413, 'N_TOO_LARGE');
    B.rejections.length = 0;
    // No Content-Length: the limit must hold while streaming.
    const auth = signRequest({ method: 'PUT', uri: ECHO_PATH, origin: A.name, destination: B.name, content: JSON.parse(big) }, A.keys.current);
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield Buffer.from(big.slice(i * 10_300, (i + 1) * 10_300));
      yield Buffer.from(big.slice(103_000));
    }
    const res = await request(B.url + ECHO_PATH, { method: 'PUT', headers: { authorization: auth }, body: Readable.from(chunks()) });
    expect(res.statusCode).toBe(413);
    expect(await res.body.json()).toMatchObject({ errcode: 'N_TOO_LARGE' });
    expect(B.handled).toEqual([]);
  });
});
