import { canonicalJson, sha256, toBase64 } from '../../src/events/canonical-json.js';
import type { Pdu } from '../../src/events/event-types.js';
import {
  canonicalForContentHash,
  computeContentHash,
  contentHashMatches,
  withContentHash,
} from '../../src/events/hashes.js';
import { signPdu } from '../../src/events/signing.js';
import { SERVER, sampleMessage, testKey } from './crypto-fixtures.js';

describe('content hash', () => {
  it('is base64(SHA-256) of the canonical event without signatures, unsigned, hashes', () => {
    const ev = sampleMessage();
    expect(computeContentHash(ev)).toBe(toBase64(sha256(canonicalJson(ev))));
    expect(computeContentHash(ev)).toMatch(/^[A-Za-z0-9+/]{43}$/);
  });

  it('ignores signatures, unsigned and an existing hashes member', () => {
    const ev = sampleMessage();
    const h = computeContentHash(ev);
    const decorated = {
      ...ev,
      unsigned: { age: 5 },
      hashes: { sha256: 'whatever' },
      signatures: { 'x.org': { 'ed25519:1': 'sig' } },
    } as Pdu;
    expect(computeContentHash(decorated)).toBe(h);
    expect(canonicalForContentHash(decorated)).not.toContain('unsigned');
  });

  it('covers every other member, including unknown top-level ones', () => {
    const ev = sampleMessage();
    const h = computeContentHash(ev);
    expect(computeContentHash({ ...ev, content: { ...ev.content, body: 'hellO' } })).not.toBe(h);
    expect(computeContentHash({ ...ev, depth: 4 })).not.toBe(h);
    expect(computeContentHash({ ...ev, prev_events: [] })).not.toBe(h);
    expect(computeContentHash({ ...ev, extra: 1 } as typeof ev)).not.toBe(h);
  });

  it('withContentHash adds hashes.sha256 and leaves the input untouched', () => {
    const ev = sampleMessage();
    const copy = structuredClone(ev);
    const hashed = withContentHash(ev);
    expect(hashed.hashes.sha256).toBe(computeContentHash(ev));
    expect(ev).toEqual(copy);
  });

  it('contentHashMatches detects tampering; padded base64 still matches', () => {
    const signed = signPdu(withContentHash(sampleMessage()), SERVER, testKey());
    expect(contentHashMatches(signed)).toBe(true);
    expect(contentHashMatches({ ...signed, content: { ...signed.content, body: 'evil' } })).toBe(false);
    expect(contentHashMatches({ ...signed, hashes: { sha256: signed.hashes.sha256 + '=' } })).toBe(true);
    expect(contentHashMatches({ ...signed, hashes: { sha256: 'not base64!' } })).toBe(false);
    expect(contentHashMatches({ ...signed, hashes: {} } as Pdu)).toBe(false);
  });
});
