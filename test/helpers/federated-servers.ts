import type { Config } from '../../src/config.js';
import { defaultTestDatabase } from './databases.js';
import { startTestHomeserver } from './homeserver.js';
import { freePort } from './ports.js';

export type TestServer = Awaited<ReturnType<typeof startTestHomeserver>>;

/**
 * `count` homeservers in this process on loopback ports, each trusting the others (plain
 * HTTP), each with its own database: Postgres when DATABASE_URL is set, else PGlite.
 * The caller cleans them up.
 */
export async function startFederatedServers(count: number, overrides: Partial<Config> = {}): Promise<TestServer[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const names = ports.map((p) => `127.0.0.1:${p}`);
  const servers: TestServer[] = [];
  for (const [i, port] of ports.entries()) {
    servers.push(await startTestHomeserver(await defaultTestDatabase(), {
      ...overrides, port, serverName: names[i], federation: { mode: 'allowlist', allow: names.filter((n) => n !== names[i]), insecure: true },
    }));
  }
  return servers;
}
