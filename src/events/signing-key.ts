// Ed25519 server signing keys as node:crypto KeyObjects. Building a KeyObject costs far
// more than using one, so each key is built once: a SigningKey carries both of its own, and
// verify keys of peers go through a caller-owned cache (no module-level state).
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { fromBase64, toBase64 } from './canonical-json.js';

export interface SigningKey {
  keyId: string; // 'ed25519:<version>'
  version: string;
  seed: Buffer; // the 32-byte private seed (RFC 8032)
  publicKey: Buffer; // 32 bytes
  publicKeyBase64: string; // standard, unpadded
  privateKeyObject: KeyObject;
  publicKeyObject: KeyObject;
}

// DER wrappers for a bare Ed25519 key: PKCS#8 for a 32-byte seed, SPKI for a 32-byte
// public key (RFC 8410). The fixed prefix plus the raw bytes is the whole encoding.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const KEY_VERSION = /^[a-zA-Z0-9_]+$/;

export function isValidKeyVersion(version: string): boolean {
  return KEY_VERSION.test(version);
}

/** Splits 'ed25519:<version>'; undefined if malformed or another algorithm. */
export function parseKeyId(keyId: string): { algorithm: 'ed25519'; version: string } | undefined {
  if (!keyId.startsWith('ed25519:')) return undefined;
  const version = keyId.slice('ed25519:'.length);
  return isValidKeyVersion(version) ? { algorithm: 'ed25519', version } : undefined;
}

export function signingKeyFromSeed(seed: Uint8Array, version: string): SigningKey {
  if (!isValidKeyVersion(version)) throw new TypeError(`invalid key version: ${JSON.stringify(version)}`);
  if (seed.length !== 32) throw new TypeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const seedBuf = Buffer.from(seed);
  const privateKeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seedBuf]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKeyObject = createPublicKey(privateKeyObject);
  const spki = publicKeyObject.export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(SPKI_ED25519_PREFIX.length));
  return {
    keyId: `ed25519:${version}`,
    version,
    seed: seedBuf,
    publicKey,
    publicKeyBase64: toBase64(publicKey),
    privateKeyObject,
    publicKeyObject,
  };
}

export function generateSigningKey(version: string): SigningKey {
  return signingKeyFromSeed(randomBytes(32), version);
}

/** A public-key KeyObject from 32 raw bytes. */
export function publicKeyObjectFromBytes(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TypeError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** A public-key KeyObject from base64 (either alphabet, padded or not). Uncached: use a
 *  VerifyKeyCache on hot paths. */
export function publicKeyObjectFromBase64(b64: string): KeyObject {
  return publicKeyObjectFromBytes(fromBase64(b64));
}

export interface VerifyKeyCache {
  /** The KeyObject for a base64 public key, built on first use. Throws if malformed. */
  get(publicKeyBase64: string): KeyObject;
  readonly size: number;
}

/** A bounded cache of verify KeyObjects, owned by whoever creates it (one per homeserver).
 *  When full it forgets the oldest entry: the set of live peer keys is small, so this only
 *  guards against a peer flooding us with junk keys. */
export function createVerifyKeyCache(maxEntries = 10_000): VerifyKeyCache {
  const map = new Map<string, KeyObject>();
  return {
    get(publicKeyBase64: string): KeyObject {
      let key = map.get(publicKeyBase64);
      if (key === undefined) {
        key = publicKeyObjectFromBase64(publicKeyBase64);
        if (map.size >= maxEntries) map.delete(map.keys().next().value!);
        map.set(publicKeyBase64, key);
      }
      return key;
    },
    get size() {
      return map.size;
    },
  };
}
