// Request signing and the X-Nexus header, pure; every signature cross-checked with tweetnacl.
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { canonicalJson, fromBase64 } from '../../src/events/canonical-json.js';
import { generateSigningKey } from '../../src/events/signing-key.js';
import {
  canonicalRequest,
  formatXNexusHeader,
  parseXNexusHeader,
  requestSigningJson,
  signRequest,
  verifyRequest,
} from '../../src/federation/request-signing.js';
import type { RequestSigningInput, XNexusAuth } from '../../src/federation/request-signing.js';

const key = generateSigningKey('v1');
const base: RequestSigningInput = {
  method: 'PUT',
  uri: '/_nexus/federation/v1/send/t1?x=%24a',
  origin: 'a.example',
  destination: 'b.example:8448',
  content: { pdus: [], edus: [{ edu_type: 't', content: { s: 'ü' } }] },
};

function parsed(header: string): XNexusAuth {
  const r = parseXNexusHeader(header);
  if (!r.ok) throw new Error(r.reason);
  return r.auth;
}

describe('signRequest / verifyRequest', () => {
  it('signs the canonical JSON of {method, uri, origin, destination, content}', () => {
    expect(canonicalRequest(base)).toBe(canonicalJson({ ...base }));
    const header = signRequest(base, key);
    const auth = parsed(header);
    expect(auth).toMatchObject({ origin: 'a.example', destination: 'b.example:8448', key: 'ed25519:v1' });
    const bytes = new TextEncoder().encode(canonicalRequest(base));
    expect(nacl.sign.detached.verify(bytes, fromBase64(auth.sig), key.publicKey)).toBe(true);
    expect(verifyRequest(base, auth, key.publicKeyObject)).toBe(true);
  });

  it('omits content when there is no body, and upper-cases the method', () => {
    const get = { method: 'get', uri: '/x', origin: 'a.example', destination: 'b.example' };
    expect(requestSigningJson(get)).toEqual({ method: 'GET', uri: '/x', origin: 'a.example', destination: 'b.example' });
    const auth = parsed(signRequest(get, key));
    expect(verifyRequest({ method: 'GET', uri: '/x' }, auth, key.publicKeyObject)).toBe(true);
    expect(verifyRequest({ method: 'GET', uri: '/x', content: {} }, auth, key.publicKeyObject)).toBe(false);
  });

  it.each([
    ['method', { method: 'POST' }],
    ['uri', { uri: '/_nexus/federation/v1/send/t1?x=%24b' }],
    ['content', { content: { pdus: [1], edus: [] } }],
    ['missing content', { content: undefined }],
  ])('fails when the %s differs', (_what, change) => {
    const auth = parsed(signRequest(base, key));
    expect(verifyRequest({ ...base, ...change }, auth, key.publicKeyObject)).toBe(false);
  });

  it('fails with a different origin/destination in the header, or another key', () => {
    const auth = parsed(signRequest(base, key));
    expect(verifyRequest(base, { ...auth, origin: 'c.example' }, key.publicKeyObject)).toBe(false);
    expect(verifyRequest(base, { ...auth, destination: 'c.example' }, key.publicKeyObject)).toBe(false);
    expect(verifyRequest(base, auth, generateSigningKey('v1').publicKeyObject)).toBe(false);
  });

  it('never throws on content without a canonical form', () => {
    const auth = parsed(signRequest(base, key));
    expect(verifyRequest({ ...base, content: { s: '\ud800' } }, auth, key.publicKeyObject)).toBe(false);
  });

  it('property: any JSON content verifies, and any change to it does not', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        fc.pre(!Object.is(a, -0) && !Object.is(b, -0));
        const input = { ...base, content: { a } };
        const auth = parsed(signRequest(input, key));
        expect(verifyRequest(input, auth, key.publicKeyObject)).toBe(true);
        const same = canonicalJson({ a }) === canonicalJson({ a: b });
        expect(verifyRequest({ ...input, content: { a: b } }, auth, key.publicKeyObject)).toBe(same);
      }),
      { numRuns: 100 },
    );
  });
});

describe('parseXNexusHeader', () => {
  const sig = parsed(signRequest(base, key)).sig;
  const good = { origin: 'a.example', destination: 'b.example:8448', key: 'ed25519:v1', sig };

  it('round-trips formatXNexusHeader', () => {
    expect(parsed(formatXNexusHeader(good))).toEqual(good);
  });

  it.each([
    ['lower-case scheme and names', `x-nexus ORIGIN="a.example",Destination="b.example:8448",KEY="ed25519:v1",Sig="${sig}"`],
    ['whitespace everywhere', `X-Nexus   origin = "a.example" ,\tdestination="b.example:8448" , key="ed25519:v1",  sig="${sig}"  `],
    ['bare values', `X-Nexus origin=a.example,destination=b.example:8448,key=ed25519:v1,sig=${sig}`],
    ['any order, unknown parameters', `X-Nexus sig="${sig}",realm="x",key="ed25519:v1",destination="b.example:8448",origin="a.example"`],
    ['empty list elements', `X-Nexus ,origin="a.example",,destination="b.example:8448", ,key="ed25519:v1",sig="${sig}",`],
    ['escapes in quoted strings', `X-Nexus origin="a\\.example",destination="b.example:8448",key="ed25519:v1",sig="${sig}",note="a \\"quoted\\", value"`],
  ])('accepts %s', (_what, header) => {
    expect(parsed(header)).toEqual(good);
  });

  it.each([
    ['undefined', undefined, /no Authorization/],
    ['empty', '', /no Authorization/],
    ['another scheme', `Bearer origin="a.example"`, /scheme/],
    ['scheme glued to params', `X-Nexusorigin="a.example"`, /scheme/],
    ['no parameters', 'X-Nexus', /missing parameter origin/],
    ['a missing parameter', `X-Nexus origin="a.example",destination="b.example:8448",sig="${sig}"`, /missing parameter key/],
    ['a repeated parameter', `X-Nexus origin="a.example",ORIGIN="a.example",destination="b.example:8448",key="ed25519:v1",sig="${sig}"`, /repeated/],
    ['no "="', `X-Nexus origin "a.example"`, /"="/],
    ['an empty bare value', `X-Nexus origin=,destination="b.example:8448"`, /empty value/],
    ['an unterminated quote', `X-Nexus origin="a.example,destination="b.example:8448",key="ed25519:v1",sig="${sig}`, /./],
    ['a missing comma', `X-Nexus origin="a.example" destination="b.example:8448"`, /","/],
    ['a control character', `X-Nexus origin="a.\u0001example",destination="b.example:8448",key="ed25519:v1",sig="${sig}"`, /control/],
    ['an invalid origin', `X-Nexus origin="a example",destination="b.example:8448",key="ed25519:v1",sig="${sig}"`, /origin/],
    ['an invalid destination', `X-Nexus origin="a.example",destination="b.example:0",key="ed25519:v1",sig="${sig}"`, /destination/],
    ['another algorithm', `X-Nexus origin="a.example",destination="b.example:8448",key="curve25519:v1",sig="${sig}"`, /key/],
    ['a sig that is not base64', `X-Nexus origin="a.example",destination="b.example:8448",key="ed25519:v1",sig="!!!!"`, /base64/],
    ['a short sig', `X-Nexus origin="a.example",destination="b.example:8448",key="ed25519:v1",sig="${sig.slice(0, 40)}"`, /signature/],
    ['an absurdly long header', `X-Nexus origin="${'a'.repeat(5000)}"`, /too long/],
  ])('refuses %s', (_what, header, reason) => {
    const r = parseXNexusHeader(header);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseXNexusHeader('X-Nexus ' + s);
      }),
      { numRuns: 500 },
    );
  });
});

describe('a precomputed canonical body', () => {
  it('signs the same as canonicalising the content', () => {
    expect(signRequest(base, key, canonicalJson(base.content))).toBe(signRequest(base, key));
    expect(canonicalRequest(base)).toBe(canonicalJson(requestSigningJson(base)));
  });
});
