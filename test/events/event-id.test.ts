import { canonicalJson, sha256, toBase64Url } from '../../src/events/canonical-json.js';
import { computeEventId, isEventId } from '../../src/events/event-id.js';
import { withContentHash } from '../../src/events/hashes.js';
import { redactPdu } from '../../src/events/redaction.js';
import { signPdu } from '../../src/events/signing.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import { SERVER, sampleMember, sampleMessage, testKey } from './crypto-fixtures.js';

const build = (ev = sampleMessage()) => signPdu(withContentHash(ev), SERVER, testKey());

describe('event id', () => {
  it('is $ + url-safe unpadded base64 of SHA-256 of the canonical redacted event sans signatures', () => {
    const pdu = build();
    const { signatures: _s, ...redacted } = redactPdu(pdu);
    void _s;
    expect(computeEventId(pdu)).toBe('$' + toBase64Url(sha256(canonicalJson(redacted))));
    expect(isEventId(computeEventId(pdu))).toBe(true);
    expect(computeEventId(pdu)).not.toMatch(/[+/=]/);
  });

  it('does not depend on signatures or unsigned', () => {
    const pdu = build();
    const id = computeEventId(pdu);
    const otherSigner = signPdu(pdu, 'other.org', generateSigningKey('k2'));
    expect(computeEventId(otherSigner)).toBe(id);
    expect(computeEventId({ ...pdu, unsigned: { age: 99 } })).toBe(id);
  });

  it('is unchanged by redaction', () => {
    const pdu = build(sampleMember());
    expect(computeEventId(redactPdu(pdu))).toBe(computeEventId(pdu));
  });

  it('changes when a kept field changes', () => {
    const ev = sampleMember();
    const id = computeEventId(build(ev));
    expect(computeEventId(build({ ...ev, content: { ...ev.content, membership: 'leave' } }))).not.toBe(id);
    expect(computeEventId(build({ ...ev, depth: ev.depth + 1 }))).not.toBe(id);
  });

  it('changes when a redacted-away field changes, through the content hash', () => {
    const ev = sampleMessage();
    const a = build(ev);
    const b = build({ ...ev, content: { ...ev.content, body: 'different body' } });
    expect(redactPdu(a).content).toEqual(redactPdu(b).content); // same redacted content...
    expect(a.hashes.sha256).not.toBe(b.hashes.sha256); // ...different hash...
    expect(computeEventId(a)).not.toBe(computeEventId(b)); // ...so a different id
  });

  it('but tampering with a redacted-away field after hashing leaves the id as it was', () => {
    const pdu = build();
    const tampered = { ...pdu, content: { ...pdu.content, body: 'evil' } };
    expect(computeEventId(tampered)).toBe(computeEventId(pdu));
  });
});
