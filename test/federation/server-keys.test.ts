import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import type { Clock } from '../../src/clock.js';
import { fromBase64 } from '../../src/events/canonical-json.js';
import { finalizeEvent } from '../../src/events/finalize-event.js';
import { publicKeyObjectFromBase64, signingKeyFromSeed } from '../../src/events/signing-key.js';
import { verifyPduSignature } from '../../src/events/signing.js';
import { loadOrCreateServerKeys, rotateServerKey, verifyKeyFor } from '../../src/federation/server-keys.js';
import { sampleMessage } from '../events/crypto-fixtures.js';

const fixedClock = (t: number): Clock => ({ now: () => t });
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nexus-keys-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('server keys on disk', () => {
  it('creates a key in a 0700 dir, as a 0600 file holding the base64 seed on one line', async () => {
    const keys = await loadOrCreateServerKeys(dataDir, fixedClock(1));
    expect(keys.current.keyId).toMatch(/^ed25519:a_[A-Za-z0-9]{4}$/);
    expect(keys.old).toEqual([]);
    const dir = join(dataDir, 'keys');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const file = join(dir, `ed25519_${keys.current.version}.key`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}\n$/);
    expect(fromBase64(text.trim()).equals(keys.current.seed)).toBe(true);
    // The file's seed is a real Ed25519 seed for the advertised public key.
    expect(Buffer.from(nacl.sign.keyPair.fromSeed(keys.current.seed).publicKey).equals(keys.current.publicKey)).toBe(true);
  });

  it('reloads the same key', async () => {
    const a = await loadOrCreateServerKeys(dataDir, fixedClock(1));
    const b = await loadOrCreateServerKeys(dataDir, fixedClock(2));
    expect(b.current.keyId).toBe(a.current.keyId);
    expect(b.current.seed.equals(a.current.seed)).toBe(true);
  });

  it('rotation retires the old key, keeping only its public half, still verifiable', async () => {
    const before = await loadOrCreateServerKeys(dataDir, fixedClock(1));
    const { pdu } = finalizeEvent(sampleMessage(), 'example.org', before.current);

    const after = await rotateServerKey(dataDir, fixedClock(5_000));
    expect(after.current.keyId).not.toBe(before.current.keyId);
    expect(after.old).toEqual([
      { keyId: before.current.keyId, publicKeyBase64: before.current.publicKeyBase64, expiredTs: 5_000 },
    ]);

    // Survives a reload, and only the public half of the old key remains on disk.
    const reloaded = await loadOrCreateServerKeys(dataDir, fixedClock(6_000));
    expect(reloaded.current.keyId).toBe(after.current.keyId);
    expect(reloaded.old).toEqual(after.old);
    const keyDir = join(dataDir, 'keys');
    expect((await readdir(keyDir)).filter((n) => n.endsWith('.key'))).toEqual([`ed25519_${after.current.version}.key`]);
    const oldJson = await readFile(join(keyDir, 'old', `ed25519_${before.current.version}.json`), 'utf8');
    expect(oldJson).not.toContain(before.current.seed.toString('base64').slice(0, 20));

    const old = verifyKeyFor(reloaded, before.current.keyId)!;
    expect(old).toEqual({ keyId: before.current.keyId, publicKeyBase64: before.current.publicKeyBase64, expiredTs: 5_000 });
    expect(verifyPduSignature(pdu, 'example.org', old.keyId, publicKeyObjectFromBase64(old.publicKeyBase64))).toBe(true);
    expect(verifyKeyFor(reloaded, reloaded.current.keyId)?.expiredTs).toBeNull();
    expect(verifyKeyFor(reloaded, 'ed25519:nope')).toBeUndefined();
  });

  it('rotating twice keeps both retired keys', async () => {
    await loadOrCreateServerKeys(dataDir, fixedClock(1));
    await rotateServerKey(dataDir, fixedClock(10));
    const keys = await rotateServerKey(dataDir, fixedClock(20));
    expect(keys.old.map((k) => k.expiredTs)).toEqual([10, 20]);
    expect((await loadOrCreateServerKeys(dataDir, fixedClock(30))).old).toEqual(keys.old);
  });

  it('loads an operator-provided key file', async () => {
    const seed = Buffer.alloc(32, 7);
    await loadOrCreateServerKeys(dataDir, fixedClock(1)); // creates dirs
    const dir = join(dataDir, 'keys');
    for (const n of await readdir(dir)) if (n.endsWith('.key')) await rm(join(dir, n));
    await writeFile(join(dir, 'ed25519_mine.key'), seed.toString('base64') + '\n', { mode: 0o600 });
    const keys = await loadOrCreateServerKeys(dataDir, fixedClock(2));
    expect(keys.current.keyId).toBe('ed25519:mine');
    expect(keys.current.publicKeyBase64).toBe(signingKeyFromSeed(seed, 'mine').publicKeyBase64);
  });

  it('refuses a corrupt key file and an ambiguous set of keys', async () => {
    const dir = join(dataDir, 'keys');
    await loadOrCreateServerKeys(dataDir, fixedClock(1));
    await writeFile(join(dir, 'ed25519_second.key'), Buffer.alloc(32, 1).toString('base64'));
    await expect(loadOrCreateServerKeys(dataDir, fixedClock(2))).rejects.toThrow(/several current signing keys/);
    await writeFile(join(dir, 'ed25519_second.key'), 'not a key');
    await expect(loadOrCreateServerKeys(dataDir, fixedClock(2))).rejects.toThrow();
  });

  describe('recovers from a rotation interrupted by a crash', () => {
    // Reproduce each on-disk state rotateServerKey passes through.
    async function setup() {
      const before = await loadOrCreateServerKeys(dataDir, fixedClock(1));
      const dir = join(dataDir, 'keys');
      const pending = signingKeyFromSeed(Buffer.alloc(32, 9), 'a_next');
      await writeFile(join(dir, 'ed25519_a_next.key.new'), pending.seed.toString('base64') + '\n', { mode: 0o600 });
      const retire = async () =>
        writeFile(
          join(dir, 'old', `ed25519_${before.current.version}.json`),
          JSON.stringify({ key_id: before.current.keyId, public_key: before.current.publicKeyBase64, expired_ts: 3 }),
        );
      return { before, dir, pending, retire };
    }

    it('after step 1 (new key written, old not retired): the rotation is abandoned', async () => {
      const { before, dir } = await setup();
      const keys = await loadOrCreateServerKeys(dataDir, fixedClock(4));
      expect(keys.current.keyId).toBe(before.current.keyId);
      expect(keys.old).toEqual([]);
      expect(await readdir(dir)).not.toContain('ed25519_a_next.key.new');
    });

    it('after step 2 (old key retired): the rotation is completed', async () => {
      const { before, retire, pending } = await setup();
      await retire();
      const keys = await loadOrCreateServerKeys(dataDir, fixedClock(4));
      expect(keys.current.publicKeyBase64).toBe(pending.publicKeyBase64);
      expect(keys.old.map((k) => k.keyId)).toEqual([before.current.keyId]);
    });

    it('after step 3 (new key in place, old .key not yet deleted): the old file is removed', async () => {
      const { before, dir, retire, pending } = await setup();
      await retire();
      await writeFile(join(dir, 'ed25519_a_next.key'), pending.seed.toString('base64') + '\n', { mode: 0o600 });
      await rm(join(dir, 'ed25519_a_next.key.new'));
      const keys = await loadOrCreateServerKeys(dataDir, fixedClock(4));
      expect(keys.current.keyId).toBe('ed25519:a_next');
      expect(await readdir(dir)).not.toContain(`ed25519_${before.current.version}.key`);
    });
  });
});
