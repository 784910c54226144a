import type { Config } from '../../src/config.js';
import { FederationRequestError } from '../../src/federation/errors.js';
import { registerUser, startTestHomeserver } from '../helpers/homeserver.js';
import { freePort } from '../helpers/ports.js';

// Three homeservers on loopback, each with its own keys and database. A trusts B (an
// allowlist); C is a stranger. Requests are signed by their origin and checked by the
// receiver against keys it fetches from the origin's key endpoint.
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

  it('shares the public directory across servers: only discoverable guilds, searchable', async () => {
    const [a, b, c] = servers;
    const [na] = [a.config.serverName];
    const alice = await registerUser(a.url, 'lounger');
    const lounge = (await alice.api.post('/guilds', { name: 'Public Lounge' })).body;
    expect((await alice.api.patch(`/guilds/${lounge.id}`, { discoverable: true, description: 'Come in' })).status).toBe(200);
    await alice.api.post('/guilds', { name: 'Hidden Den' }); // not discoverable

    const local = await (await fetch(`${a.url}/api/v10/directory`)).json();
    expect(local).toEqual({ server: na, next: null, guilds: [{ guild_id: lounge.nexus_id, name: 'Public Lounge', description: 'Come in', icon: null, member_count: 1 }] });

    // From B, browsing A: over signed federation requests, no login needed on B.
    const remote = await (await fetch(`${b.url}/api/v10/directory?server=${encodeURIComponent(na)}`)).json();
    expect(remote.guilds.map((g: { name: string }) => g.name)).toEqual(['Public Lounge']);
    expect(remote.server).toBe(na);
    const searched = await (await fetch(`${b.url}/api/v10/directory?server=${encodeURIComponent(na)}&q=LOUNGE`)).json();
    expect(searched.guilds).toHaveLength(1);
    const none = await (await fetch(`${b.url}/api/v10/directory?server=${encodeURIComponent(na)}&q=den`)).json();
    expect(none.guilds).toEqual([]);

    // C is not trusted by A: C's users are told so, in a Discord-shaped error.
    const refused = await fetch(`${c.url}/api/v10/directory?server=${encodeURIComponent(na)}`);
    expect(refused.status).toBe(403);
    expect((await refused.json()).message).toMatch(/refused/);
    // Bad input is refused before anything is asked of anyone.
    expect((await fetch(`${b.url}/api/v10/directory?server=not%20a%20server`)).status).toBe(400);

    // The page a person browses with.
    const page = await fetch(`${b.url}/directory`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/api/v10/directory?');
  });
});
