import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { fromBase64, toBase64 } from '../../src/events/canonical-json.js';
import type { Pdu } from '../../src/events/event-types.js';
import { contentHashMatches, withContentHash } from '../../src/events/hashes.js';
import { redactedCanonical, redactPdu } from '../../src/events/redaction.js';
import {
  canonicalForJsonSigning,
  signCanonical,
  signJson,
  signPdu,
  verifyCanonical,
  verifyJsonSignature,
  verifyPduSignature,
} from '../../src/events/signing.js';
import {
  createVerifyKeyCache,
  generateSigningKey,
  parseKeyId,
  publicKeyObjectFromBase64,
  signingKeyFromSeed,
} from '../../src/events/signing-key.js';
import { SERVER, TEST_SEED, sampleMember, sampleMessage, testKey } from './crypto-fixtures.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('signing keys', () => {
  it('derive the RFC 8032 public key from a seed, as tweetnacl does', () => {
    const key = testKey();
    expect(key.keyId).toBe('ed25519:test1');
    expect(key.publicKey.toString('hex')).toBe('03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8');
    for (let i = 0; i < 5; i++) {
      const seed = randomBytes(32);
      const ours = signingKeyFromSeed(seed, 'v');
      expect(Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).equals(ours.publicKey)).toBe(true);
      expect(ours.publicKeyBase64).toBe(toBase64(ours.publicKey));
    }
  });

  it('validate versions, seeds and key ids', () => {
    expect(() => signingKeyFromSeed(TEST_SEED, 'bad-version')).toThrow();
    expect(() => signingKeyFromSeed(TEST_SEED, '')).toThrow();
    expect(() => signingKeyFromSeed(TEST_SEED.subarray(0, 31), 'v')).toThrow();
    expect(parseKeyId('ed25519:a_Xy9')).toEqual({ algorithm: 'ed25519', version: 'a_Xy9' });
    expect(parseKeyId('ed25519:')).toBeUndefined();
    expect(parseKeyId('curve25519:x')).toBeUndefined();
    expect(() => publicKeyObjectFromBase64('AAAA')).toThrow();
  });

  it('the verify key cache builds each KeyObject once and stays bounded', () => {
    const cache = createVerifyKeyCache(2);
    const a = generateSigningKey('a').publicKeyBase64;
    expect(cache.get(a)).toBe(cache.get(a));
    cache.get(generateSigningKey('b').publicKeyBase64);
    cache.get(generateSigningKey('c').publicKeyBase64);
    expect(cache.size).toBe(2);
    expect(() => cache.get('!!')).toThrow();
  });
});

describe('node:crypto and tweetnacl agree', () => {
  it('every node:crypto signature verifies under tweetnacl', () => {
    for (let i = 0; i < 10; i++) {
      const key = generateSigningKey('x');
      const msg = `{"n":${i},"s":"héllo ${randomBytes(8).toString('hex')}"}`;
      const sig = fromBase64(signCanonical(msg, key));
      expect(nacl.sign.detached.verify(utf8(msg), sig, key.publicKey)).toBe(true);
      // Ed25519 is deterministic: both produce the same bytes.
      const naclKey = nacl.sign.keyPair.fromSeed(key.seed);
      expect(Buffer.from(nacl.sign.detached(utf8(msg), naclKey.secretKey)).equals(sig)).toBe(true);
    }
  });

  it('every tweetnacl signature verifies under node:crypto', () => {
    for (let i = 0; i < 10; i++) {
      const naclKey = nacl.sign.keyPair.fromSeed(randomBytes(32));
      const msg = `message ${i} ✓`;
      const sig = toBase64(nacl.sign.detached(utf8(msg), naclKey.secretKey));
      const pub = publicKeyObjectFromBase64(toBase64(naclKey.publicKey));
      expect(verifyCanonical(msg, sig, pub)).toBe(true);
      expect(verifyCanonical(msg + ' ', sig, pub)).toBe(false);
    }
  });

  it('a signed PDU verifies under tweetnacl over the redacted canonical bytes', () => {
    const key = testKey();
    const pdu = signPdu(withContentHash(sampleMember()), SERVER, key);
    const sig = fromBase64(pdu.signatures[SERVER]![key.keyId]!);
    expect(nacl.sign.detached.verify(utf8(redactedCanonical(pdu)), sig, key.publicKey)).toBe(true);
  });
});

describe('PDU signatures', () => {
  const key = testKey();
  const signed = () => signPdu(withContentHash(sampleMessage()), SERVER, key);

  it('are stored at signatures[origin]["ed25519:<version>"], 64 bytes, unpadded base64', () => {
    const pdu = signed();
    const sig = pdu.signatures[SERVER]![key.keyId]!;
    expect(sig).toMatch(/^[A-Za-z0-9+/]{86}$/);
    expect(fromBase64(sig).length).toBe(64);
    expect(verifyPduSignature(pdu, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
  });

  it('survive redaction', () => {
    const pdu = signPdu(withContentHash(sampleMember()), SERVER, key);
    expect(verifyPduSignature(redactPdu(pdu), SERVER, key.keyId, key.publicKeyObject)).toBe(true);
  });

  it('still verify when redacted-away content is tampered with; the hash catches it', () => {
    const pdu = signed();
    const tampered: Pdu = { ...pdu, content: { ...pdu.content, body: 'evil' } };
    expect(verifyPduSignature(tampered, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    expect(contentHashMatches(tampered)).toBe(false); // => store it redacted, not reject it
  });

  it('break when a kept field is tampered with', () => {
    const pdu = signed();
    const pk = key.publicKeyObject;
    expect(verifyPduSignature({ ...pdu, content: { ...pdu.content, channel: 'c2' } }, SERVER, key.keyId, pk)).toBe(false);
    expect(verifyPduSignature({ ...pdu, sender: '@mallory:example.org' }, SERVER, key.keyId, pk)).toBe(false);
    expect(verifyPduSignature({ ...pdu, depth: 99 }, SERVER, key.keyId, pk)).toBe(false);
    expect(verifyPduSignature({ ...pdu, hashes: { sha256: 'AAAA' } }, SERVER, key.keyId, pk)).toBe(false);
  });

  it('ignore unsigned and other servers\' signatures', () => {
    const pdu = signed();
    const other = generateSigningKey('o');
    const cosigned = signPdu({ ...pdu, unsigned: { age: 3 } }, 'other.org', other);
    expect(verifyPduSignature(cosigned, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    expect(verifyPduSignature(cosigned, 'other.org', other.keyId, other.publicKeyObject)).toBe(true);
    expect(cosigned.signatures[SERVER]).toEqual(pdu.signatures[SERVER]);
  });

  it('are false, not thrown, for a missing, malformed or wrong-key signature', () => {
    const pdu = signed();
    const pk = key.publicKeyObject;
    expect(verifyPduSignature(pdu, 'other.org', key.keyId, pk)).toBe(false);
    expect(verifyPduSignature(pdu, SERVER, 'ed25519:nope', pk)).toBe(false);
    expect(verifyPduSignature(pdu, SERVER, key.keyId, generateSigningKey('z').publicKeyObject)).toBe(false);
    for (const bad of ['', '!!!', 'AAAA', 42]) {
      const p = { ...pdu, signatures: { [SERVER]: { [key.keyId]: bad } } } as unknown as Pdu;
      expect(verifyPduSignature(p, SERVER, key.keyId, pk)).toBe(false);
    }
    const loneSurrogate = { ...pdu, sender: '\ud800' };
    expect(verifyPduSignature(loneSurrogate, SERVER, key.keyId, pk)).toBe(false);
  });
});

describe('JSON signatures', () => {
  const key = testKey();

  it('cover the object without signatures and unsigned, and verify with tweetnacl', () => {
    const doc = signJson({ b: 1, a: 'x', unsigned: { ignore: true } }, SERVER, key);
    expect(canonicalForJsonSigning(doc)).toBe('{"a":"x","b":1}');
    expect(verifyJsonSignature(doc, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    const sig = fromBase64(doc.signatures[SERVER]![key.keyId]!);
    expect(nacl.sign.detached.verify(utf8('{"a":"x","b":1}'), sig, key.publicKey)).toBe(true);
    expect(verifyJsonSignature({ ...doc, unsigned: 'changed' }, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    expect(verifyJsonSignature({ ...doc, b: 2 }, SERVER, key.keyId, key.publicKeyObject)).toBe(false);
  });

  it('accumulate across servers without disturbing each other', () => {
    const other = generateSigningKey('o');
    const twice = signJson(signJson({ x: 1 }, SERVER, key), 'other.org', other);
    expect(verifyJsonSignature(twice, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    expect(verifyJsonSignature(twice, 'other.org', other.keyId, other.publicKeyObject)).toBe(true);
  });

  it('accept a tweetnacl-made signature', () => {
    const nk = nacl.sign.keyPair.fromSeed(TEST_SEED);
    const body = { server_name: SERVER, n: 1 };
    const sig = toBase64(nacl.sign.detached(utf8(canonicalForJsonSigning(body)), nk.secretKey));
    const doc = { ...body, signatures: { [SERVER]: { 'ed25519:test1': sig } } };
    expect(verifyJsonSignature(doc, SERVER, 'ed25519:test1', publicKeyObjectFromBase64(toBase64(nk.publicKey)))).toBe(
      true,
    );
  });
});
