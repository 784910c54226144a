// Which peers this server federates with: the operator's choice (DESIGN: "the operator
// chooses open federation or an allow list"). Pure; read once at start-up. Per-guild server
// ACLs are state events and are checked later, by the event code, on top of this.
import { parseServerName } from './discovery.js';

/** `open`: any server that proves its identity; `allowlist`: only those listed;
 *  `off`: none (the key endpoint stays public, nothing else answers). */
export type FederationMode = 'open' | 'allowlist' | 'off';

export const FEDERATION_MODES: readonly FederationMode[] = ['open', 'allowlist', 'off'];

/** Without configuration a server federates with nobody it was not told about. */
export const DEFAULT_FEDERATION_MODE: FederationMode = 'allowlist';

export interface TrustPolicy {
  readonly mode: FederationMode;
  /** Whether we accept requests from, and send events to, this server. */
  allows(serverName: string): boolean;
}

export class TrustConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustConfigError';
  }
}

/** Server names compare byte for byte (spec/events.md, Identifiers), so the list is used
 *  as given apart from surrounding whitespace; an entry that is not a server name is a
 *  configuration error, not something to skip silently. */
export function createTrustPolicy(opts: { mode: FederationMode; allow?: Iterable<string> }): TrustPolicy {
  if (!FEDERATION_MODES.includes(opts.mode)) throw new TrustConfigError(`unknown federation mode "${String(opts.mode)}"`);
  const allow = new Set<string>();
  for (const raw of opts.allow ?? []) {
    const name = raw.trim();
    if (name === '') continue;
    if (parseServerName(name) === undefined) throw new TrustConfigError(`not a server name in the allow list: "${name}"`);
    allow.add(name);
  }
  const mode = opts.mode;
  return {
    mode,
    allows(serverName: string): boolean {
      if (mode === 'off') return false;
      if (mode === 'open') return true;
      return allow.has(serverName);
    },
  };
}

/** Reads `NEXUS_FEDERATION=open|allowlist|off` (default allowlist) and
 *  `NEXUS_FEDERATION_ALLOW=a.example,b.example:8448`. */
export function trustPolicyFromEnv(env: Record<string, string | undefined>): TrustPolicy {
  const rawMode = (env.NEXUS_FEDERATION ?? '').trim().toLowerCase();
  const mode = rawMode === '' ? DEFAULT_FEDERATION_MODE : rawMode;
  if (!FEDERATION_MODES.includes(mode as FederationMode)) {
    throw new TrustConfigError(`NEXUS_FEDERATION must be one of ${FEDERATION_MODES.join(', ')}, got "${env.NEXUS_FEDERATION}"`);
  }
  return createTrustPolicy({ mode: mode as FederationMode, allow: (env.NEXUS_FEDERATION_ALLOW ?? '').split(',') });
}
