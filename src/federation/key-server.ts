// GET /_nexus/key/v1/server: this server's verify keys, signed by its current key, so peers
// can check our events and requests (the shape of Matrix's /_matrix/key/v2/server).
import { Router } from 'express';
import type { Clock } from '../clock.js';
import { signJson } from '../events/signing.js';
import type { ServerKeys } from './server-keys.js';

export const KEY_SERVER_PATH = '/_nexus/key/v1/server';
export const DEFAULT_KEY_VALIDITY_MS = 24 * 60 * 60 * 1000;

export interface KeyServerOptions {
  serverName: string;
  /** Read on every request, so a rotation shows up without rebuilding the router. */
  keys: () => ServerKeys;
  clock: Clock;
  validityMs?: number;
}

export interface ServerKeysResponse {
  server_name: string;
  valid_until_ts: number;
  verify_keys: Record<string, { key: string }>;
  old_verify_keys: Record<string, { key: string; expired_ts: number }>;
  signatures: Record<string, Record<string, string>>;
}

/** The signed key document; exported so other code (and tests) can build it directly. */
export function buildServerKeysResponse(
  serverName: string,
  keys: ServerKeys,
  nowMs: number,
  validityMs: number = DEFAULT_KEY_VALIDITY_MS,
): ServerKeysResponse {
  const old_verify_keys: ServerKeysResponse['old_verify_keys'] = {};
  for (const k of keys.old) old_verify_keys[k.keyId] = { key: k.publicKeyBase64, expired_ts: k.expiredTs };
  const body = {
    server_name: serverName,
    valid_until_ts: nowMs + validityMs,
    verify_keys: { [keys.current.keyId]: { key: keys.current.publicKeyBase64 } },
    old_verify_keys,
  };
  return signJson(body, serverName, keys.current);
}

export function keyServerRouter(opts: KeyServerOptions): Router {
  const router = Router();
  router.get(KEY_SERVER_PATH, (_req, res) => {
    const doc = buildServerKeysResponse(opts.serverName, opts.keys(), opts.clock.now(), opts.validityMs);
    res.json(doc);
  });
  return router;
}
