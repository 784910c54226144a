import { resolve } from 'node:path';
import { createTrustPolicy, DEFAULT_FEDERATION_MODE, FEDERATION_MODES, type FederationMode } from './federation/trust.js';

/** Everything a homeserver is configured with; built once from the environment and flags. */
export interface Config {
  serverName: string;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  /** The URL clients are told to use for the gateway (defaults to ws://host:port/gateway). */
  publicBaseUrl?: string;
  rateLimits: boolean;
  logLevel: string;
  /** scrypt cost for new password hashes (2^15 in production; tests may lower it). */
  passwordCost?: number;
  gateway: { heartbeatIntervalMs: number; resumeWindowMs: number };
  /** Which servers we federate with: `allowlist` (the default: only `allow`), `open`, or `off`. */
  federation: { mode: FederationMode; allow: string[]; insecure: boolean };
}

const ENV_KEYS = {
  serverName: 'NEXUS_SERVER_NAME',
  host: 'NEXUS_HOST',
  port: 'NEXUS_PORT',
  dataDir: 'NEXUS_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  publicBaseUrl: 'NEXUS_PUBLIC_URL',
  rateLimits: 'NEXUS_RATE_LIMITS',
  logLevel: 'NEXUS_LOG_LEVEL',
  federation: 'NEXUS_FEDERATION',
  federationAllow: 'NEXUS_FEDERATION_ALLOW',
  federationInsecure: 'NEXUS_FEDERATION_INSECURE',
} as const;

export class ConfigError extends Error {}

/**
 * Reads configuration: flags (`--port 8008`, `--server-name a.example`, …) override the
 * environment, which overrides the defaults. Flag names are the env names without the
 * NEXUS_ prefix, in kebab case.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: Record<string, string> = {}): Config {
  const get = (key: keyof typeof ENV_KEYS): string | undefined => {
    const flag = ENV_KEYS[key].replace(/^NEXUS_/, '').toLowerCase().replace(/_/g, '-');
    const v = flags[flag] ?? env[ENV_KEYS[key]];
    return v === '' ? undefined : v;
  };
  const port = Number(get('port') ?? 8008);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`NEXUS_PORT must be a port number, got "${get('port')}"`);
  const serverName = get('serverName') ?? `localhost:${port}`;
  if (!/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(serverName)) throw new ConfigError(`NEXUS_SERVER_NAME must be host[:port], got "${serverName}"`);
  const rateLimits = get('rateLimits') ?? 'on';
  if (rateLimits !== 'on' && rateLimits !== 'off') throw new ConfigError('NEXUS_RATE_LIMITS must be on or off');
  const federationMode = get('federation') ?? DEFAULT_FEDERATION_MODE;
  if (!FEDERATION_MODES.includes(federationMode as FederationMode)) throw new ConfigError(`NEXUS_FEDERATION must be one of ${FEDERATION_MODES.join(', ')}`);
  const allow = (get('federationAllow') ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  try {
    createTrustPolicy({ mode: federationMode as FederationMode, allow });
  } catch (err) {
    throw new ConfigError(`NEXUS_FEDERATION_ALLOW: ${(err as Error).message}`);
  }
  return {
    serverName,
    host: get('host') ?? '127.0.0.1',
    port,
    dataDir: resolve(get('dataDir') ?? './data'),
    databaseUrl: get('databaseUrl'),
    publicBaseUrl: get('publicBaseUrl'),
    rateLimits: rateLimits === 'on',
    logLevel: get('logLevel') ?? 'info',
    gateway: { heartbeatIntervalMs: 41250, resumeWindowMs: 120_000 },
    federation: { mode: federationMode as FederationMode, allow, insecure: ['1', 'true', 'on'].includes(get('federationInsecure') ?? '') },
  };
}
