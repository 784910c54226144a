import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { canonicalJson, fromBase64 } from '../../src/events/canonical-json.js';
import { contentHashMatches } from '../../src/events/hashes.js';
import { computeEventId } from '../../src/events/event-id.js';
import type { Pdu } from '../../src/events/event-types.js';
import { redactPdu } from '../../src/events/redaction.js';
import { freshPostgresDatabase } from '../helpers/databases.js';
import { runCli, startServeProcess } from '../helpers/cli-process.js';
import { registerUser } from '../helpers/homeserver.js';

// `nexus events` prints the log exactly as signed; an auditor holding only that output and
// the server's published keys can check every hash, id and signature. Checked here with
// tweetnacl, independently of the node:crypto code that signed them.
describe('nexus events', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('prints events whose hashes, ids and signatures verify against GET /_nexus/key/v1/server', async () => {
    const env: Record<string, string> = { NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0', NEXUS_SERVER_NAME: 'audit.test' };
    if (process.env.DATABASE_URL) env.DATABASE_URL = await freshPostgresDatabase();
    const server = await startServeProcess(env);
    const sentIds: string[] = [];
    let keyDoc: any;
    try {
      const alice = await registerUser(server.url, 'auditor');
      const guild = (await alice.api.post('/guilds', { name: 'Audited' })).body;
      const channel = (await alice.api.get(`/guilds/${guild.id}/channels`)).body[0].id;
      for (const text of ['one', 'two', 'three']) sentIds.push((await alice.api.post(`/channels/${channel}/messages`, { content: text })).body.nexus_id);
      await alice.api.delete(`/channels/${channel}/messages/${(await alice.api.get(`/channels/${channel}/messages?limit=1`)).body[0].id}`);
      keyDoc = await (await fetch(`${server.url}/_nexus/key/v1/server`)).json();
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }

    // The key document is itself signed by the key it publishes.
    const [keyId, { key }] = Object.entries(keyDoc.verify_keys as Record<string, { key: string }>)[0];
    const publicKey = fromBase64(key);
    const { signatures: docSigs, ...unsignedDoc } = keyDoc;
    expect(nacl.sign.detached.verify(Buffer.from(canonicalJson(unsignedDoc)), fromBase64(docSigs['audit.test'][keyId]), publicKey)).toBe(true);
    expect(keyDoc.valid_until_ts).toBeGreaterThan(Date.now());

    const out = await runCli(['events'], env);
    expect(out.code).toBe(0);
    const pdus = out.stdout.trim().split('\n').map((line) => JSON.parse(line) as Pdu);
    expect(pdus.length).toBeGreaterThanOrEqual(5 + 3 + 1);
    const ids = new Set<string>();
    for (const pdu of pdus) {
      expect(contentHashMatches(pdu)).toBe(true);
      const { signatures, unsigned: _u, ...forSigning } = redactPdu(pdu);
      const sig = fromBase64(signatures['audit.test'][keyId]);
      expect(nacl.sign.detached.verify(Buffer.from(canonicalJson(forSigning)), sig, publicKey)).toBe(true);
      ids.add(computeEventId(pdu));
    }
    // The ids the API handed out are the content-addressed ids of the printed events.
    for (const id of sentIds) expect(ids.has(id)).toBe(true);
    // Each event's prev_events point at the event before it: an unbroken chain.
    for (let i = 1; i < pdus.length; i++) expect(pdus[i].prev_events).toEqual([computeEventId(pdus[i - 1])]);
  });
});
