// Recomputes every published vector in spec/vectors/ from its input, so the spec text, the
// vectors and the code cannot drift apart; tweetnacl checks each signature independently.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { canonicalJson, fromBase64, toBase64 } from '../../src/events/canonical-json.js';
import { computeEventId } from '../../src/events/event-id.js';
import type { Pdu, UnsignedPdu } from '../../src/events/event-types.js';
import { finalizeEvent } from '../../src/events/finalize-event.js';
import { canonicalForContentHash, computeContentHash, withContentHash } from '../../src/events/hashes.js';
import { redactedCanonical, redactPdu } from '../../src/events/redaction.js';
import { canonicalForJsonSigning, signJson, signPdu, verifyPduSignature } from '../../src/events/signing.js';
import { signingKeyFromSeed } from '../../src/events/signing-key.js';

interface SigningKeyJson {
  seed_base64: string;
  key_id: string;
  public_key_base64: string;
}
interface EventVector {
  description: string;
  signing_key: SigningKeyJson;
  input: UnsignedPdu;
  canonical_for_hash: string;
  content_hash: string;
  redacted: Pdu;
  canonical_for_signing: string;
  event_id: string;
  signed_event: Pdu;
}
interface JsonVector {
  description: string;
  signing_key: SigningKeyJson;
  server_name: string;
  canonical_for_signing: string;
  signed: { signatures: Record<string, Record<string, string>> } & Record<string, unknown>;
}

const dir = join(process.cwd(), 'spec', 'vectors');
const load = <T>(name: string): T[] => JSON.parse(readFileSync(join(dir, name), 'utf8')).vectors as T[];
const utf8 = (s: string) => new TextEncoder().encode(s);
const SERVER = 'example.org';

function keyOf(k: SigningKeyJson) {
  const seed = fromBase64(k.seed_base64);
  // The published test key: bytes 0x00..0x1f.
  expect([...seed]).toEqual(Array.from({ length: 32 }, (_, i) => i));
  const key = signingKeyFromSeed(seed, k.key_id.slice('ed25519:'.length));
  expect(key.keyId).toBe(k.key_id);
  expect(key.publicKeyBase64).toBe(k.public_key_base64);
  expect(toBase64(nacl.sign.keyPair.fromSeed(seed).publicKey)).toBe(k.public_key_base64);
  return key;
}

const events = load<EventVector>('events.json');

describe('spec/vectors/events.json', () => {
  it('has the required cases', () => {
    const types = events.map((v) => v.input.type);
    expect(types).toEqual(expect.arrayContaining(['nexus.message', 'nexus.guild.member', 'nexus.redaction']));
    expect(events.length).toBeGreaterThanOrEqual(3);
  });

  it.each(events.map((v) => [v.description, v] as const))('%s', (_d, v) => {
    const key = keyOf(v.signing_key);
    expect(canonicalForContentHash(v.input)).toBe(v.canonical_for_hash);
    expect(computeContentHash(v.input)).toBe(v.content_hash);
    const hashed = withContentHash(v.input);
    expect(hashed.hashes.sha256).toBe(v.content_hash);
    expect(redactedCanonical(hashed)).toBe(v.canonical_for_signing);
    const signed = signPdu(hashed, SERVER, key);
    expect(signed).toEqual(v.signed_event);
    expect(redactPdu(signed)).toEqual(v.redacted);
    expect(computeEventId(signed)).toBe(v.event_id);
    expect(computeEventId(v.redacted)).toBe(v.event_id);
    expect(finalizeEvent(v.input, SERVER, key)).toEqual({ event_id: v.event_id, pdu: v.signed_event });
    // The canonical strings are themselves canonical JSON of what they claim to be.
    expect(canonicalJson(JSON.parse(v.canonical_for_hash))).toBe(v.canonical_for_hash);
    expect(canonicalJson(JSON.parse(v.canonical_for_signing))).toBe(v.canonical_for_signing);

    const sig = fromBase64(v.signed_event.signatures[SERVER]![v.signing_key.key_id]!);
    const pub = fromBase64(v.signing_key.public_key_base64);
    expect(nacl.sign.detached.verify(utf8(v.canonical_for_signing), sig, pub)).toBe(true);
    expect(verifyPduSignature(v.redacted, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
  });
});

describe('spec/vectors/signed-json.json', () => {
  it.each(load<JsonVector>('signed-json.json').map((v) => [v.description, v] as const))('%s', (_d, v) => {
    const key = keyOf(v.signing_key);
    const { signatures: _s, ...body } = v.signed;
    void _s;
    expect(canonicalForJsonSigning(body)).toBe(v.canonical_for_signing);
    expect(signJson(body, v.server_name, key)).toEqual(v.signed);
    const sig = fromBase64(v.signed.signatures[v.server_name]![v.signing_key.key_id]!);
    expect(nacl.sign.detached.verify(utf8(v.canonical_for_signing), sig, fromBase64(v.signing_key.public_key_base64))).toBe(
      true,
    );
  });
});
