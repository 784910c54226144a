// Generates spec/vectors/federation-requests.json: request-signing test vectors a second
// implementation can check itself against. Run: npx tsx scripts/make-federation-vectors.ts
// Both keys are published TEST keys (seeds 0x00..0x1f and 0x20..0x3f): never use them for
// anything real. Ed25519 is deterministic, so the output is stable.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toBase64 } from '../src/events/canonical-json.js';
import { signCanonical } from '../src/events/signing.js';
import { signingKeyFromSeed } from '../src/events/signing-key.js';
import type { SigningKey } from '../src/events/signing-key.js';
import { canonicalRequest, parseXNexusHeader, signRequest } from '../src/federation/request-signing.js';
import type { RequestSigningInput } from '../src/federation/request-signing.js';

const seed = (from: number) => Buffer.from(Array.from({ length: 32 }, (_, i) => from + i));
const servers = [
  { name: 'example.org', key: signingKeyFromSeed(seed(0x00), 'test1') },
  { name: 'remote.example:8448', key: signingKeyFromSeed(seed(0x20), 'test2') },
] as const;
const [A, B] = servers;

function keyRecord(s: { name: string; key: SigningKey }) {
  return {
    server_name: s.name,
    seed_base64: toBase64(s.key.seed),
    key_id: s.key.keyId,
    public_key_base64: s.key.publicKeyBase64,
  };
}

function vector(description: string, from: { name: string; key: SigningKey }, input: RequestSigningInput) {
  const canonical = canonicalRequest(input);
  const authorization = signRequest(input, from.key);
  const parsed = parseXNexusHeader(authorization);
  if (!parsed.ok) throw new Error(`generated header does not parse: ${parsed.reason}`);
  return {
    description,
    signing_key_id: from.key.keyId,
    request: {
      method: input.method,
      uri: input.uri,
      origin: input.origin,
      destination: input.destination,
      // The exact body bytes a sender could put on the wire; any JSON serialisation of the
      // same value signs the same, because the signature covers the canonical form.
      ...(input.content === undefined ? {} : { body: JSON.stringify(input.content, null, 1) }),
    },
    signing_json: canonical,
    signature: signCanonical(canonical, from.key),
    authorization,
  };
}

const EVENT_ID = '$Q8v6oNhKp3h0y2gB9m2YbqJt0lW5tM3cX3rE9YVv1aA';
const requests = [
  vector('GET without a body: no content member; the path is signed percent-encoded, as sent, with its query.', A, {
    method: 'GET',
    uri: `/_nexus/federation/v1/event/${encodeURIComponent(EVENT_ID)}?limit=10&dir=b`,
    origin: A.name,
    destination: B.name,
  }),
  vector('PUT of a transaction: content is the parsed body; non-ASCII is signed as UTF-8, keys sorted at every level.', A, {
    method: 'PUT',
    uri: '/_nexus/federation/v1/send/1700000000000-1',
    origin: A.name,
    destination: B.name,
    content: {
      origin: A.name,
      origin_server_ts: 1_700_000_000_000,
      pdus: [],
      edus: [{ edu_type: 'nexus.typing', content: { room_id: '!k3Jd8sQe:example.org', user_id: '@zoë:example.org', typing: true } }],
    },
  }),
  vector('POST from a server name with a port, signed with the second test key.', B, {
    method: 'POST',
    uri: `/_nexus/federation/v1/get_missing_events/${encodeURIComponent('!k3Jd8sQe:example.org')}`,
    origin: B.name,
    destination: A.name,
    content: { earliest_events: [EVENT_ID], latest_events: [], limit: 10, min_depth: 0 },
  }),
];

// Header parsing: what a receiver must accept, and what it must refuse.
const sig = requests[0]!.signature;
const parsedOf = (origin: string, destination: string, key: string) => ({ origin, destination, key, sig });
const headers = {
  valid: [
    { header: requests[0]!.authorization, parsed: parsedOf(A.name, B.name, 'ed25519:test1'), note: 'as a Nexus server emits it' },
    {
      header: `x-nexus  key = "ed25519:test1" , sig="${sig}",origin=example.org ,destination="remote.example:8448"`,
      parsed: parsedOf(A.name, B.name, 'ed25519:test1'),
      note: 'scheme case-insensitive, any order, spaces around = and ",", bare values',
    },
    {
      header: `X-Nexus Origin="exa\\mple.org",DESTINATION="remote.example:8448",key="ed25519:test1",sig="${sig}",realm="future"`,
      parsed: parsedOf(A.name, B.name, 'ed25519:test1'),
      note: 'parameter names case-insensitive, backslash escapes in quoted strings, unknown parameters ignored',
    },
  ],
  invalid: [
    { header: `Bearer abc`, note: 'another scheme' },
    { header: `X-Nexus origin="example.org",destination="remote.example:8448",key="ed25519:test1"`, note: 'sig missing' },
    { header: `X-Nexus origin="example.org",origin="example.com",destination="remote.example:8448",key="ed25519:test1",sig="${sig}"`, note: 'a parameter twice' },
    { header: `X-Nexus origin="example.org,destination="remote.example:8448",key="ed25519:test1",sig="${sig}"`, note: 'unterminated quote' },
    { header: `X-Nexus origin="example.org" destination="remote.example:8448",key="ed25519:test1",sig="${sig}"`, note: 'no comma between parameters' },
    { header: `X-Nexus origin="exa mple.org",destination="remote.example:8448",key="ed25519:test1",sig="${sig}"`, note: 'origin is not a server name' },
    { header: `X-Nexus origin="example.org",destination="remote.example:8448",key="rsa:test1",sig="${sig}"`, note: 'not an ed25519 key id' },
    { header: `X-Nexus origin="example.org",destination="remote.example:8448",key="ed25519:test1",sig="${sig.slice(4)}"`, note: 'sig is not 64 bytes' },
  ],
};
for (const v of headers.valid) {
  const r = parseXNexusHeader(v.header);
  if (!r.ok || JSON.stringify(r.auth) !== JSON.stringify(v.parsed)) throw new Error(`valid header vector fails: ${v.note}`);
}
for (const v of headers.invalid) {
  if (parseXNexusHeader(v.header).ok) throw new Error(`invalid header vector parses: ${v.note}`);
}

const out = {
  description:
    'Nexus federation request signing (spec/federation.md, Request authentication). For each request: signing_json is ' +
    'the canonical JSON (RFC 8785) of {method, uri, origin, destination, content?}, content being the parsed body; ' +
    'signature is Ed25519 over its UTF-8 bytes (standard unpadded base64); authorization is the exact header value.',
  keys: servers.map(keyRecord),
  requests,
  headers,
};

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec', 'vectors', 'federation-requests.json');
writeFileSync(target, JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${target}`);
