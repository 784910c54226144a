import { createServer } from 'node:net';
import type { Config } from '../../src/config.js';
import { FederationRequestError } from '../../src/federation/errors.js';
import { registerUser, startTestHomeserver } from '../helpers/homeserver.js';

// Three homeservers on loopback, each with its own keys and database. A trusts B (an
// allowlist); C is a stranger. Requests are signed by their origin and checked by the
// receiver against keys it fetches from the origin's key endpoint.
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('federation transport between homeservers', () => {
  const servers: Array<Awaited<ReturnType<typeof startTestHomeserver>>> = [];
  afterAll(async () => {
    for (const s of servers) await s.cleanup();
  });

  it('answers a signed request from a trusted peer, and refuses strangers and unsigned requests', async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const [na, nb, nc] = [pa, pb, pc].map((p) => `127.0.0.1:${p}`);
    const start = (port: number, name: string, allow: string[]) => {
      const overrides: Partial<Config> = { port, serverName: name, federation: { mode: 'allowlist', allow, insecure: true } };
      return startTestHomeserver({}, overrides);
    };
    const a = await start(pa, na, [nb]);
    const b = await start(pb, nb, [na]);
    const c = await start(pc, nc, [na]);
    servers.push(a, b, c);
    await registerUser(a.url, 'alice');
    const path = `/_nexus/federation/v1/query/profile?user_id=${encodeURIComponent(`@alice:${na}`)}`;

    // B asks A: A fetches B's keys over loopback, verifies the signature, answers.
    expect(await b.federation!.client.get(na, path)).toEqual({ user_id: `@alice:${na}`, displayname: 'alice', avatar_url: null });
    const bKey = await a.federation!.keyStore.lookup(nb, b.keys.current.keyId);
    expect(bKey.ok).toBe(true);

    // A user A does not have: a clear 404 with a federation errcode.
    const missing = await b.federation!.client.get(na, `/_nexus/federation/v1/query/profile?user_id=${encodeURIComponent(`@nobody:${na}`)}`).catch((e) => e);
    expect(missing).toBeInstanceOf(FederationRequestError);
    expect(missing).toMatchObject({ status: 404, errcode: 'N_NOT_FOUND', kind: 'rejected' });

    // C is not on A's allowlist (test/federation/request-auth.test.ts shows its keys are
    // not even fetched).
    const stranger = await c.federation!.client.get(na, path).catch((e) => e);
    expect(stranger).toMatchObject({ status: 403, errcode: 'N_FORBIDDEN' });

    // No signature at all.
    const unsigned = await fetch(`${a.url}${path}`);
    expect(unsigned.status).toBe(401);
    expect((await unsigned.json()).errcode).toBe('N_UNAUTHORIZED');
    // An unknown endpoint, properly signed.
    expect(await b.federation!.client.get(na, '/_nexus/federation/v1/nonsense').catch((e) => e)).toMatchObject({ status: 404, errcode: 'N_UNRECOGNIZED' });
  });
});
