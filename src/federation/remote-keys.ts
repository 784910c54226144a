// Verify keys of other servers (spec/federation.md, "Keys"). Fetched from the server itself
// (`GET /_nexus/key/v1/server`), accepted only when self-signed by every key it lists as
// current and naming the server we asked (Matrix's direct key fetch; no notary servers yet).
//
// Kept in memory for now, one store per homeserver; persisting them to Postgres (so a
// restart does not refetch, and keys of a server that has since vanished still verify its
// old events) is a later step.
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { fromBase64 } from '../events/canonical-json.js';
import { verifyJsonSignature } from '../events/signing.js';
import { createVerifyKeyCache, parseKeyId } from '../events/signing-key.js';
import type { VerifyKeyCache } from '../events/signing-key.js';
import type { FederationClient } from './federation-client.js';
import { KEY_SERVER_PATH } from './key-server.js';

export interface RemoteVerifyKey {
  keyId: string;
  publicKey: KeyObject;
  publicKeyBase64: string;
  /** Undefined for a current key; when it stopped signing for a retired one. */
  expiredTs?: number;
}

/** A key document that passed every check. */
export interface VerifiedServerKeys {
  serverName: string;
  validUntilTs: number;
  keys: Map<string, RemoteVerifyKey>;
}

export type KeyDocResult = { ok: true; keys: VerifiedServerKeys } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Pure: checks a fetched key document for serverName (shape, server_name, self-signatures
 *  by every current key) and returns its keys. */
export function verifyServerKeysDocument(doc: unknown, serverName: string, keyCache: VerifyKeyCache): KeyDocResult {
  if (!isObject(doc)) return { ok: false, reason: 'not a JSON object' };
  if (doc.server_name !== serverName) return { ok: false, reason: `server_name is not ${serverName}` };
  const validUntilTs = doc.valid_until_ts;
  if (typeof validUntilTs !== 'number' || !Number.isSafeInteger(validUntilTs) || validUntilTs < 0) {
    return { ok: false, reason: 'valid_until_ts is not an integer' };
  }
  const keys = new Map<string, RemoteVerifyKey>();
  const add = (group: unknown, retired: boolean): string | undefined => {
    if (group === undefined && retired) return undefined;
    if (!isObject(group)) return `${retired ? 'old_verify_keys' : 'verify_keys'} is not an object`;
    for (const [keyId, entry] of Object.entries(group)) {
      if (parseKeyId(keyId) === undefined) continue; // another algorithm: not ours to judge
      if (!isObject(entry) || typeof entry.key !== 'string') return `${keyId} has no key`;
      let publicKey: KeyObject;
      try {
        if (fromBase64(entry.key).length !== 32) return `${keyId} is not 32 bytes`;
        publicKey = keyCache.get(entry.key);
      } catch {
        return `${keyId} is not base64`;
      }
      const k: RemoteVerifyKey = { keyId, publicKey, publicKeyBase64: entry.key };
      if (retired) {
        if (typeof entry.expired_ts !== 'number' || !Number.isSafeInteger(entry.expired_ts)) return `${keyId} has no expired_ts`;
        k.expiredTs = entry.expired_ts;
        if (keys.has(keyId)) continue; // listed as current too: current wins
      }
      keys.set(keyId, k);
    }
    return undefined;
  };
  const problem = add(doc.verify_keys, false) ?? add(doc.old_verify_keys, true);
  if (problem !== undefined) return { ok: false, reason: problem };
  const current = [...keys.values()].filter((k) => k.expiredTs === undefined);
  if (current.length === 0) return { ok: false, reason: 'no ed25519 key in verify_keys' };
  for (const k of current) {
    if (!verifyJsonSignature(doc, serverName, k.keyId, k.publicKey)) {
      return { ok: false, reason: `not signed by its own key ${k.keyId}` };
    }
  }
  return { ok: true, keys: { serverName, validUntilTs, keys } };
}

/** The production fetchKeys: the peer's own key endpoint, unsigned (it needs no auth). */
export function keyFetcherVia(client: Pick<FederationClient, 'request'>): (serverName: string) => Promise<unknown> {
  return (serverName) => client.request(serverName, 'GET', KEY_SERVER_PATH, { sign: false });
}

export type KeyLookup = { ok: true; key: RemoteVerifyKey } | { ok: false; reason: string };

export interface RemoteKeyStoreOptions {
  clock: Clock;
  /** Fetches the key document of a server (parsed JSON); throws when it cannot. */
  fetchKeys: (serverName: string) => Promise<unknown>;
  keyCache?: VerifyKeyCache;
  /** Keys are cached until valid_until_ts, but at least this long... (default 5 min) */
  minCacheMs?: number;
  /** ...and at most this long (default 7 days). */
  maxCacheMs?: number;
  /** Least time between two fetches for one server, however many unknown key ids or
   *  failures it gives us (default 30 s): a peer cannot make us hammer anyone. */
  refetchIntervalMs?: number;
  /** Servers remembered at once (default 10,000; the least recently used go first). */
  maxServers?: number;
  /** Told about refused documents and failed fetches. */
  onFetchError?: (serverName: string, reason: string) => void;
}

export interface RemoteKeyStore {
  /**
   * The key keyId of serverName, usable for something signed at `atTs` (default now): a
   * current key always; a retired key only when atTs < its expired_ts. Fetches when the
   * cache is stale or does not know keyId (at most once per refetchIntervalMs per server);
   * concurrent lookups for one server share one fetch.
   */
  lookup(serverName: string, keyId: string, atTs?: number): Promise<KeyLookup>;
  /** lookup(), reduced to the KeyObject or undefined. */
  getVerifyKey(serverName: string, keyId: string, atTs?: number): Promise<KeyObject | undefined>;
}

interface Entry {
  keys?: VerifiedServerKeys;
  cachedUntil: number; // refetch after this (0 = never fetched successfully)
  lastAttempt: number;
  lastError?: string;
}

export function createRemoteKeyStore(opts: RemoteKeyStoreOptions): RemoteKeyStore {
  const keyCache = opts.keyCache ?? createVerifyKeyCache();
  const minCacheMs = opts.minCacheMs ?? 5 * 60_000;
  const maxCacheMs = opts.maxCacheMs ?? 7 * 24 * 3600_000;
  const refetchIntervalMs = opts.refetchIntervalMs ?? 30_000;
  const maxServers = opts.maxServers ?? 10_000;
  const entries = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Entry>>();

  function remember(serverName: string, entry: Entry): void {
    entries.delete(serverName); // re-insert: Map order doubles as least-recently-used order
    if (entries.size >= maxServers) entries.delete(entries.keys().next().value!);
    entries.set(serverName, entry);
  }

  async function fetchNow(serverName: string, previous: Entry | undefined): Promise<Entry> {
    const now = opts.clock.now();
    let reason: string;
    try {
      const result = verifyServerKeysDocument(await opts.fetchKeys(serverName), serverName, keyCache);
      if (result.ok) {
        const ttl = Math.min(Math.max(result.keys.validUntilTs - now, minCacheMs), maxCacheMs);
        const entry: Entry = { keys: result.keys, cachedUntil: now + ttl, lastAttempt: now };
        remember(serverName, entry);
        return entry;
      }
      reason = `refused key document: ${result.reason}`;
    } catch (err) {
      reason = `could not fetch keys: ${err instanceof Error ? err.message : String(err)}`;
    }
    opts.onFetchError?.(serverName, reason);
    // Keep what we knew: keys do not turn false because their server is unreachable (or
    // briefly serves junk), and events signed with them must still verify in a partition.
    const entry: Entry = { cachedUntil: 0, ...previous, lastAttempt: now, lastError: reason };
    remember(serverName, entry);
    return entry;
  }

  function fetchShared(serverName: string, previous: Entry | undefined): Promise<Entry> {
    let pending = inflight.get(serverName);
    if (pending === undefined) {
      pending = fetchNow(serverName, previous).finally(() => inflight.delete(serverName));
      inflight.set(serverName, pending);
    }
    return pending;
  }

  function pick(entry: Entry | undefined, keyId: string, atTs: number): KeyLookup | undefined {
    const key = entry?.keys?.keys.get(keyId);
    if (key === undefined) return undefined;
    if (key.expiredTs !== undefined && atTs >= key.expiredTs) {
      return { ok: false, reason: `key ${keyId} expired at ${key.expiredTs}` };
    }
    return { ok: true, key };
  }

  async function lookup(serverName: string, keyId: string, atTs?: number): Promise<KeyLookup> {
    const now = opts.clock.now();
    const at = atTs ?? now;
    let entry = entries.get(serverName);
    const known = pick(entry, keyId, at);
    const fresh = entry !== undefined && entry.cachedUntil > now;
    if (!(fresh && known !== undefined)) {
      const mayFetch = entry === undefined || now - entry.lastAttempt >= refetchIntervalMs || inflight.has(serverName);
      if (mayFetch) entry = await fetchShared(serverName, entry);
    }
    const found = pick(entry, keyId, at);
    if (found !== undefined) return found;
    if (entry?.keys === undefined && entry?.lastError !== undefined) return { ok: false, reason: entry.lastError };
    return { ok: false, reason: `unknown key ${keyId} of ${serverName}` };
  }

  return {
    lookup,
    async getVerifyKey(serverName, keyId, atTs) {
      const r = await lookup(serverName, keyId, atTs);
      return r.ok ? r.key.publicKey : undefined;
    },
  };
}
