import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import type { Clock } from '../../src/clock.js';
import { fromBase64 } from '../../src/events/canonical-json.js';
import { canonicalForJsonSigning, verifyJsonSignature } from '../../src/events/signing.js';
import { publicKeyObjectFromBase64 } from '../../src/events/signing-key.js';
import { DEFAULT_KEY_VALIDITY_MS, KEY_SERVER_PATH, keyServerRouter } from '../../src/federation/key-server.js';
import type { ServerKeysResponse } from '../../src/federation/key-server.js';
import { loadOrCreateServerKeys, rotateServerKey } from '../../src/federation/server-keys.js';
import type { ServerKeys } from '../../src/federation/server-keys.js';

const SERVER = 'hs1.test';
let now = 1_700_000_000_000;
const clock: Clock = { now: () => now };
let dataDir: string;
let keys: ServerKeys;
let server: Server;
let base: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nexus-keysrv-'));
  keys = await loadOrCreateServerKeys(dataDir, clock);
  const app = express();
  app.use(keyServerRouter({ serverName: SERVER, keys: () => keys, clock }));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  await rm(dataDir, { recursive: true, force: true });
});

async function fetchKeys(): Promise<ServerKeysResponse> {
  const res = await fetch(base + KEY_SERVER_PATH);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as ServerKeysResponse;
}

/** Checks the document the way a peer would, with tweetnacl as an independent verifier. */
function naclVerifies(doc: ServerKeysResponse, keyId: string): boolean {
  const pub = fromBase64(doc.verify_keys[keyId]!.key);
  const sig = fromBase64(doc.signatures[SERVER]![keyId]!);
  return nacl.sign.detached.verify(new TextEncoder().encode(canonicalForJsonSigning(doc)), sig, pub);
}

describe('GET /_nexus/key/v1/server', () => {
  it('serves the current key, self-signed, valid for 24 h by default', async () => {
    const doc = await fetchKeys();
    expect(doc.server_name).toBe(SERVER);
    expect(doc.valid_until_ts).toBe(now + DEFAULT_KEY_VALIDITY_MS);
    expect(DEFAULT_KEY_VALIDITY_MS).toBe(86_400_000);
    expect(doc.verify_keys).toEqual({ [keys.current.keyId]: { key: keys.current.publicKeyBase64 } });
    expect(doc.old_verify_keys).toEqual({});
    expect(naclVerifies(doc, keys.current.keyId)).toBe(true);
    const pk = publicKeyObjectFromBase64(doc.verify_keys[keys.current.keyId]!.key);
    expect(verifyJsonSignature(doc, SERVER, keys.current.keyId, pk)).toBe(true);
    expect(verifyJsonSignature({ ...doc, valid_until_ts: doc.valid_until_ts + 1 }, SERVER, keys.current.keyId, pk)).toBe(
      false,
    );
  });

  it('after a rotation, lists the old key with expired_ts and signs with the new one', async () => {
    const oldKey = keys.current;
    now += 60_000;
    keys = await rotateServerKey(dataDir, clock);
    const doc = await fetchKeys();
    expect(Object.keys(doc.verify_keys)).toEqual([keys.current.keyId]);
    expect(doc.old_verify_keys).toEqual({ [oldKey.keyId]: { key: oldKey.publicKeyBase64, expired_ts: now } });
    expect(Object.keys(doc.signatures[SERVER]!)).toEqual([keys.current.keyId]);
    expect(naclVerifies(doc, keys.current.keyId)).toBe(true);
    expect(doc.valid_until_ts).toBe(now + DEFAULT_KEY_VALIDITY_MS);
  });
});
