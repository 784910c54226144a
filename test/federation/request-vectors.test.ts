// spec/vectors/federation-requests.json, recomputed: canonical bytes, signatures (checked
// with tweetnacl, an independent Ed25519), exact Authorization headers, header parsing.
import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { fromBase64 } from '../../src/events/canonical-json.js';
import { signingKeyFromSeed } from '../../src/events/signing-key.js';
import { canonicalRequest, parseXNexusHeader, signRequest, verifyRequest } from '../../src/federation/request-signing.js';

interface Vectors {
  keys: Array<{ server_name: string; seed_base64: string; key_id: string; public_key_base64: string }>;
  requests: Array<{
    description: string;
    signing_key_id: string;
    request: { method: string; uri: string; origin: string; destination: string; body?: string };
    signing_json: string;
    signature: string;
    authorization: string;
  }>;
  headers: {
    valid: Array<{ header: string; parsed: Record<string, string>; note: string }>;
    invalid: Array<{ header: string; note: string }>;
  };
}

const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/federation-requests.json', import.meta.url), 'utf8')) as Vectors;

describe('federation request vectors', () => {
  it('uses the published test keys (seeds 0x00..0x1f and 0x20..0x3f)', () => {
    const seeds = vectors.keys.map((k) => [...fromBase64(k.seed_base64)]);
    expect(seeds[0]).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(seeds[1]).toEqual(Array.from({ length: 32 }, (_, i) => 0x20 + i));
    for (const k of vectors.keys) {
      const pair = nacl.sign.keyPair.fromSeed(fromBase64(k.seed_base64));
      expect(Buffer.from(pair.publicKey).toString('base64').replace(/=+$/, '')).toBe(k.public_key_base64);
    }
    // The first is the key of spec/vectors/events.json.
    expect(vectors.keys[0]!.public_key_base64).toBe('A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg');
  });

  describe.each(vectors.requests.map((v) => [v.description, v] as const))('%s', (_d, v) => {
    const k = vectors.keys.find((x) => x.server_name === v.request.origin && x.key_id === v.signing_key_id)!;
    const content = v.request.body === undefined ? undefined : (JSON.parse(v.request.body) as unknown);
    const input = { method: v.request.method, uri: v.request.uri, origin: v.request.origin, destination: v.request.destination, content };

    it('canonical bytes', () => {
      expect(canonicalRequest(input)).toBe(v.signing_json);
    });

    it('signature (tweetnacl)', () => {
      const ok = nacl.sign.detached.verify(new TextEncoder().encode(v.signing_json), fromBase64(v.signature), fromBase64(k.public_key_base64));
      expect(ok).toBe(true);
      const naclSig = nacl.sign.detached(new TextEncoder().encode(v.signing_json), nacl.sign.keyPair.fromSeed(fromBase64(k.seed_base64)).secretKey);
      expect(Buffer.from(naclSig).toString('base64').replace(/=+$/, '')).toBe(v.signature);
    });

    it('exact Authorization header, which parses and verifies', () => {
      const key = signingKeyFromSeed(fromBase64(k.seed_base64), k.key_id.slice('ed25519:'.length));
      expect(signRequest(input, key)).toBe(v.authorization);
      const r = parseXNexusHeader(v.authorization);
      expect(r).toEqual({ ok: true, auth: { origin: k.server_name, destination: v.request.destination, key: k.key_id, sig: v.signature } });
      if (r.ok) expect(verifyRequest(input, r.auth, key.publicKeyObject)).toBe(true);
    });
  });

  it.each(vectors.headers.valid.map((v) => [v.note, v] as const))('valid header: %s', (_n, v) => {
    expect(parseXNexusHeader(v.header)).toEqual({ ok: true, auth: v.parsed });
  });

  it.each(vectors.headers.invalid.map((v) => [v.note, v] as const))('invalid header: %s', (_n, v) => {
    expect(parseXNexusHeader(v.header).ok).toBe(false);
  });
});
