import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { startHomeserver, type Homeserver } from '../../src/homeserver.js';
import { silentLogger } from '../../src/log.js';
import { freshPostgresDatabase } from '../helpers/databases.js';
import { apiClient, GatewayClient, registerUser } from '../helpers/homeserver.js';

// Two processes of one homeserver on one Postgres (the scale-out shape): each reads the
// shared log, woken by LISTEN/NOTIFY, so a client on either sees every event; concurrent
// writers to one guild are serialised by the room's expected version. PGlite is one
// process's database, so this runs only with DATABASE_URL.
const maybe = process.env.DATABASE_URL ? describe : describe.skip;

maybe('two homeserver processes sharing one Postgres', () => {
  let dataDir: string;
  const servers: Homeserver[] = [];
  const clients: GatewayClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('both deliver every event, whichever process accepted it', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-shared-'));
    const databaseUrl = await freshPostgresDatabase();
    for (let i = 0; i < 2; i++) {
      const config = loadConfig({}, { port: '0', 'data-dir': dataDir, 'server-name': 'shared.test', 'database-url': databaseUrl, 'rate-limits': 'off' });
      servers.push(await startHomeserver(config, { log: silentLogger(), processMetrics: false, passwordCost: { N: 2 ** 12, r: 8, p: 1 } }));
    }
    const [a, b] = servers;
    const alice = await registerUser(a.url, 'alice');
    const onB = apiClient(b.url, alice.token); // the account is shared: one database
    const guild = (await alice.api.post('/guilds', { name: 'Shared' })).body;
    const channel = (await onB.get(`/guilds/${guild.id}/channels`)).body[0].id;

    const ga = await GatewayClient.connect(a.gatewayUrl, alice.token);
    const gb = await GatewayClient.connect(b.gatewayUrl, alice.token);
    clients.push(ga, gb);

    // Interleaved, concurrent writes through both processes into the same guild.
    const sent = (await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? alice.api : onB).post(`/channels/${channel}/messages`, { content: `m${i}` }))));
    expect(sent.map((r) => r.status)).toEqual(Array(20).fill(200));
    const ids = sent.map((r) => r.body.id as string);

    for (const g of [ga, gb]) {
      for (const id of ids) await g.waitFor((d) => d.t === 'MESSAGE_CREATE' && d.d.id === id);
    }
    // Both processes deliver the log in the same order, each message exactly once.
    const order = (g: GatewayClient) => g.of('MESSAGE_CREATE').map((d) => d.d.id);
    expect(order(ga)).toEqual(order(gb));
    expect(new Set(order(ga)).size).toBe(20);
    // The guild's DAG stayed linear: one forward extremity, depth = number of events.
    const room = await a.database.db.selectFrom('rooms').selectAll().executeTakeFirstOrThrow();
    expect(room.forward_extremities).toHaveLength(1);
    expect(Number(room.depth)).toBe(Number(room.version));
  });
});
