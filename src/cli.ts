#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { loadOrCreateServerKeys, rotateServerKey } from './federation/server-keys.js';
import { startHomeserver } from './homeserver.js';
import { createProgressBar } from './cli/progress-bar.js';
import { openDatabase } from './store/database.js';
import { countEvents } from './store/event-log.js';
import { rebuildProjections } from './store/rebuild.js';
import { loadRoomState } from './store/append-events.js';
import { stateEntries, stateHash } from './events/state-hash.js';

const USAGE = `usage: nexus <command> [options]

commands:
  serve                 run the homeserver
  events [--room ID] [--since POSITION]
                        print the log's signed events as JSON lines, exactly as signed
  rebuild               drop the projections and replay the log (stop the server first)
  state --room ID       print a guild's current state and its hash (compare servers by it)
  keys show             print the server's signing keys
  keys rotate           retire the current signing key and make a new one
  federation status     print each federation destination's queue and health as JSON lines

options (each also read from the environment, e.g. --port ↔ NEXUS_PORT):
  --server-name NAME    NEXUS_SERVER_NAME  (default localhost:<port>)
  --host ADDR           NEXUS_HOST         (default 127.0.0.1)
  --port N              NEXUS_PORT         (default 8008)
  --data-dir DIR        NEXUS_DATA_DIR     (default ./data)
  --database-url URL    DATABASE_URL       (real Postgres; PGlite in the data dir when unset)
  --public-url URL      NEXUS_PUBLIC_URL   (the URL clients reach this server at)
  --rate-limits on|off  NEXUS_RATE_LIMITS  (default on)
  --log-level LEVEL     NEXUS_LOG_LEVEL    (default info)
  --federation MODE     NEXUS_FEDERATION   (allowlist | open | off; default allowlist)
  --federation-allow LIST  NEXUS_FEDERATION_ALLOW  (servers to federate with, comma-separated)
  --federation-insecure 1  NEXUS_FEDERATION_INSECURE (plain HTTP to peers: loopback tests only)`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'server-name': { type: 'string' }, host: { type: 'string' }, port: { type: 'string' },
      'data-dir': { type: 'string' }, 'database-url': { type: 'string' }, 'public-url': { type: 'string' },
      'rate-limits': { type: 'string' }, 'log-level': { type: 'string' },
      federation: { type: 'string' }, 'federation-allow': { type: 'string' }, 'federation-insecure': { type: 'string' },
      room: { type: 'string' }, since: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig(process.env, values as Record<string, string>);
  switch (command) {
    case 'serve':
      return serve(config);
    case 'events':
      return printEvents(config, values.room, values.since);
    case 'rebuild':
      return rebuild(config);
    case 'state':
      return printState(config, values.room);
    case 'keys':
      return keys(config, sub);
    case 'federation':
      return federation(config, sub);
    default:
      console.error(`nexus: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(config: Config): Promise<number> {
  const firstStart = !config.databaseUrl && !existsSync(join(config.dataDir, 'pglite'));
  if (firstStart) console.error(`nexus: first start: creating ${config.dataDir}, generating the server key and initialising the embedded Postgres (a few seconds)…`);
  const hs = await startHomeserver(config);
  console.log(`nexus: ${config.serverName} listening on ${hs.url} (gateway ${hs.gatewayUrl}, ${hs.database.kind === 'pglite' ? `embedded Postgres in ${join(config.dataDir, 'pglite')}` : 'Postgres'})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await hs.close();
  return 0;
}

function storeOptions(config: Config) {
  return { databaseUrl: config.databaseUrl, pgliteDir: join(config.dataDir, 'pglite') };
}

async function printEvents(config: Config, room?: string, since?: string): Promise<number> {
  if (since !== undefined && !/^[0-9]+$/.test(since)) throw new ConfigError('--since must be a log position (a number)');
  const { scanLog } = await import('./store/event-log.js');
  const database = await openDatabase(storeOptions(config));
  try {
    for await (const page of scanLog(database.db, { roomId: room, sincePosition: since })) {
      process.stdout.write(page.map((e) => JSON.stringify(e.pdu)).join('\n') + '\n');
    }
  } finally {
    await database.close();
  }
  return 0;
}

async function printState(config: Config, room?: string): Promise<number> {
  if (!room) throw new ConfigError('state needs --room ID (a guild id like !abc:server)');
  const database = await openDatabase(storeOptions(config));
  try {
    const state = await loadRoomState(database.db, room);
    if (state.size === 0) {
      console.error(`nexus: no state for room ${room}`);
      return 1;
    }
    console.log(JSON.stringify({ room_id: room, hash: stateHash(state), state: stateEntries(state) }, null, 2));
  } finally {
    await database.close();
  }
  return 0;
}

/** One JSON line per destination: {destination, pending, failures, retry_at_ts, …}. */
async function federation(config: Config, sub: string | undefined): Promise<number> {
  if (sub !== 'status') {
    console.error('usage: nexus federation status');
    return 2;
  }
  const { federationStatus } = await import('./federation/sender/status.js');
  const database = await openDatabase(storeOptions(config));
  try {
    for (const d of await federationStatus(database.db)) process.stdout.write(JSON.stringify(d) + '\n');
  } finally {
    await database.close();
  }
  return 0;
}

async function rebuild(config: Config): Promise<number> {
  const database = await openDatabase(storeOptions(config));
  try {
    const total = await countEvents(database.db);
    const bar = createProgressBar({ total, stream: process.stderr, label: 'rebuild' });
    let last = 0;
    const result = await rebuildProjections(database.db, {
      onProgress: (done) => {
        bar.tick(done - last);
        last = done;
      },
    });
    bar.done();
    console.log(`nexus: rebuilt the views from ${result.events} events in ${(result.ms / 1000).toFixed(1)} s`);
  } finally {
    await database.close();
  }
  return 0;
}

async function keys(config: Config, sub: string | undefined): Promise<number> {
  if (sub !== 'show' && sub !== 'rotate') {
    console.error('usage: nexus keys show | rotate');
    return 2;
  }
  const k = sub === 'rotate' ? await rotateServerKey(config.dataDir, systemClock) : await loadOrCreateServerKeys(config.dataDir, systemClock);
  console.log(JSON.stringify({
    server_name: config.serverName,
    current: { key_id: k.current.keyId, public_key: k.current.publicKeyBase64 },
    old: k.old.map((o) => ({ key_id: o.keyId, public_key: o.publicKeyBase64, expired_ts: o.expiredTs })),
  }, null, 2));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`nexus: ${(err as Error).message}`);
      process.exit(2);
    }
    console.error('nexus: fatal:', err);
    process.exit(1);
  },
);
