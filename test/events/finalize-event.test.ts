import fc from 'fast-check';
import nacl from 'tweetnacl';
import { fromBase64 } from '../../src/events/canonical-json.js';
import { computeEventId } from '../../src/events/event-id.js';
import type { Pdu, UnsignedPdu } from '../../src/events/event-types.js';
import { EventType } from '../../src/events/event-types.js';
import { finalizeEvent, inspectPdu } from '../../src/events/finalize-event.js';
import { contentHashMatches, withContentHash } from '../../src/events/hashes.js';
import { redactedCanonical, redactPdu } from '../../src/events/redaction.js';
import { signPdu, verifyCanonical, verifyPduSignature } from '../../src/events/signing.js';
import { SERVER, sampleMember, sampleMessage, testKey } from './crypto-fixtures.js';

const key = testKey();

// Random events of every known type (and unknown ones), with arbitrary JSON content that
// may or may not contain the keys redaction keeps.
const arbEvent: fc.Arbitrary<UnsignedPdu> = fc
  .record({
    type: fc.constantFrom(...Object.values(EventType), 'org.example.other'),
    state_key: fc.option(fc.string(), { nil: undefined }),
    content: fc.dictionary(
      fc.constantFrom('channel', 'body', 'membership', 'roles', 'redacts', 'target', 'kind', 'x', 'é', '1'),
      fc.jsonValue(),
    ),
    depth: fc.nat(),
    ts: fc.nat(),
    prev: fc.array(fc.string(), { maxLength: 3 }),
    unsigned: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: undefined }),
  })
  .map(({ type, state_key, content, depth, ts, prev, unsigned }) => {
    const ev: UnsignedPdu = {
      room_id: '!r:example.org',
      type,
      sender: '@a:example.org',
      origin: SERVER,
      origin_server_ts: ts,
      depth,
      prev_events: prev,
      auth_events: [],
      content,
    };
    if (state_key !== undefined) ev.state_key = state_key;
    if (unsigned !== undefined) ev.unsigned = unsigned;
    return ev;
  });

describe('finalizeEvent', () => {
  it('equals withContentHash → signPdu → computeEventId, for any event', () => {
    fc.assert(
      fc.property(arbEvent, (ev) => {
        const stepwise = signPdu(withContentHash(ev), SERVER, key);
        const fast = finalizeEvent(ev, SERVER, key);
        expect(fast.pdu).toEqual(stepwise);
        expect(fast.event_id).toBe(computeEventId(stepwise));
      }),
    );
  });

  it('produces an event whose hash and signature check out, also under tweetnacl', () => {
    const { event_id, pdu } = finalizeEvent(sampleMember(), SERVER, key);
    expect(contentHashMatches(pdu)).toBe(true);
    expect(verifyPduSignature(pdu, SERVER, key.keyId, key.publicKeyObject)).toBe(true);
    const sig = fromBase64(pdu.signatures[SERVER]![key.keyId]!);
    expect(nacl.sign.detached.verify(new TextEncoder().encode(redactedCanonical(pdu)), sig, key.publicKey)).toBe(true);
    expect('event_id' in pdu).toBe(false);
    expect(event_id).toBe(computeEventId(pdu));
  });

  it('does not mutate its input', () => {
    const ev = sampleMessage();
    const copy = structuredClone(ev);
    finalizeEvent(ev, SERVER, key);
    expect(ev).toEqual(copy);
  });
});

describe('inspectPdu', () => {
  it('agrees with computeEventId, contentHashMatches and redactedCanonical, for any event', () => {
    fc.assert(
      fc.property(arbEvent, fc.boolean(), (ev, tamper) => {
        const { pdu } = finalizeEvent(ev, SERVER, key);
        const seen: Pdu = tamper ? { ...pdu, content: { ...pdu.content, body: 'tampered!' } } : pdu;
        const got = inspectPdu(seen);
        expect(got.eventId).toBe(computeEventId(seen));
        expect(got.contentHashMatches).toBe(contentHashMatches(seen));
        expect(got.signingCanonical).toBe(redactedCanonical(seen));
        expect(verifyCanonical(got.signingCanonical, seen.signatures[SERVER]![key.keyId]!, key.publicKeyObject)).toBe(
          true,
        );
      }),
    );
  });

  it('gives a redacted copy the same id, a valid signature and a failing hash', () => {
    const { event_id, pdu } = finalizeEvent(sampleMessage(), SERVER, key);
    const got = inspectPdu(redactPdu(pdu));
    expect(got.eventId).toBe(event_id);
    expect(got.contentHashMatches).toBe(false);
    expect(verifyCanonical(got.signingCanonical, pdu.signatures[SERVER]![key.keyId]!, key.publicKeyObject)).toBe(true);
  });

  it('handles an event without hashes', () => {
    const { hashes: _h, ...noHash } = finalizeEvent(sampleMessage(), SERVER, key).pdu;
    void _h;
    expect(inspectPdu(noHash as Pdu).contentHashMatches).toBe(false);
  });
});
