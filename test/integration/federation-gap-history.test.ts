import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startHomeserver, type Homeserver } from '../../src/homeserver.js';
import { silentLogger } from '../../src/log.js';
import { readFrontier } from '../../src/store/backfill-frontier.js';
import { freshPostgresDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { apiClient, registerUser } from '../helpers/homeserver.js';
import { readChannel } from '../helpers/message-pages.js';
import { freePort } from '../helpers/ports.js';

// A server away for longer than a catch-up covers: its peer sends only the newest events,
// the DAG's gap is filled with get_missing_events only so far (here one round), and the
// rest of what was written while it was away is fetched as history in the background,
// placed where it belongs. Every message ends up there once, in order.

describe('a gap too deep for the DAG', () => {
  const running: Homeserver[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const s of running) await s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is fetched as history after the catch-up, and no message is lost', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const [na, nb] = [`127.0.0.1:${pa}`, `127.0.0.1:${pb}`];
    const dirA = await mkdtemp(join(tmpdir(), 'nexus-gap-a-'));
    const dirB = await mkdtemp(join(tmpdir(), 'nexus-gap-b-'));
    dirs.push(dirA, dirB);
    // A's database outlives A's restart.
    const dbA = process.env.DATABASE_URL ? { databaseUrl: await freshPostgresDatabase() } : { pgliteDir: join(dirA, 'pglite') };
    const dbB = process.env.DATABASE_URL ? { databaseUrl: await freshPostgresDatabase() } : {};
    const config = (port: number, dir: string, name: string, peer: string): Config => ({
      ...loadConfig({}, { port: String(port), 'data-dir': dir, 'server-name': name, 'rate-limits': 'off' }),
      federation: { mode: 'allowlist', allow: [peer], insecure: true },
    });
    const start = (c: Config, database: object, limits: { catchUpThreshold?: number; maxGapRounds?: number }) =>
      startHomeserver(c, { database, log: silentLogger(), processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 }, federationLimits: limits });
    let a = await start(config(pa, dirA, na, nb), dbA, { maxGapRounds: 1 });
    const b = await start(config(pb, dirB, nb, na), dbB, { catchUpThreshold: 20 });
    running.push(b);

    const bob = await registerUser(b.url, 'bob');
    const guild = (await bob.api.post('/guilds', { name: 'Away Hall' })).body;
    const general = (await bob.api.get(`/guilds/${guild.id}/channels`)).body.find((ch: { type: number }) => ch.type === 0);
    const invite = (await bob.api.post(`/channels/${general.id}/invites`, {})).body;
    const alice = await registerUser(a.url, 'alice');
    expect((await alice.api.post(`/invites/${invite.code}@${nb}`, {})).status).toBe(200);
    const before = (await bob.api.post(`/channels/${general.id}/messages`, { content: 'before the outage' })).body;
    const aGeneral = await eventually('the first message on A', async () => {
      const channels = (await alice.api.get(`/guilds/${(await alice.api.get('/users/@me/guilds')).body[0].id}/channels`)).body as Array<{ id: string; type: number }>;
      const text = channels.find((ch) => ch.type === 0)!;
      const page = (await alice.api.get(`/channels/${text.id}/messages?limit=5`)).body as Array<{ content: string }>;
      return page.some((m) => m.content === 'before the outage') ? text : undefined;
    });
    expect(before.id).toBeDefined();

    // A goes away; B writes 400 messages (a deleted one and an edited one among them).
    await a.close();
    const written: string[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 400; i++) {
      const content = `away ${String(i).padStart(3, '0')}`;
      ids.push((await bob.api.post(`/channels/${general.id}/messages`, { content })).body.id);
      written.push(content);
    }
    expect((await bob.api.delete(`/channels/${general.id}/messages/${ids[30]}`)).status).toBe(204);
    expect((await bob.api.patch(`/channels/${general.id}/messages/${ids[40]}`, { content: 'away 040 (edited)' })).status).toBe(200);

    // A comes back on the same database; alice speaks, so B knows A is up again.
    a = await start(config(pa, dirA, na, nb), dbA, { maxGapRounds: 1 });
    running.push(a);
    const aliceAgain = { api: apiClient(a.url, alice.token) };
    expect((await aliceAgain.api.post(`/channels/${aGeneral.id}/messages`, { content: 'back' })).status).toBe(200);
    const after = (await bob.api.post(`/channels/${general.id}/messages`, { content: 'after the outage' })).body;
    expect(after.id).toBeDefined();

    const expected = ['before the outage', ...written.filter((_, i) => i !== 30).map((c) => (c === 'away 040' ? 'away 040 (edited)' : c))];
    const shown = await eventually('every message on A', async (note) => {
      await a.federation!.history.idle();
      const all = (await readChannel(aliceAgain.api, aGeneral.id, 100)).map((m) => m.content);
      note(`${all.length} messages`);
      const mine = all.filter((c) => c !== 'back' && c !== 'after the outage');
      return mine.length === expected.length ? all : undefined;
    }, { timeoutMs: 60_000 });
    // In the order written, each once; the outage's messages before what came after it.
    expect(shown.filter((c) => c !== 'back' && c !== 'after the outage')).toEqual(expected);
    expect(shown.indexOf('after the outage')).toBeGreaterThan(shown.indexOf('away 399'));
    expect(await readFrontier(a.database.db, guild.nexus_id)).toEqual([]);
  });
});
