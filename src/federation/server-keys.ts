// The server's own Ed25519 keys on disk. Layout under <dataDir>/keys/ (dir mode 0700):
//   ed25519_<version>.key       the current key: base64 seed, one line, mode 0600
//   old/ed25519_<version>.json  a retired key: {key_id, public_key, expired_ts}
// Retired keys keep only their public half: peers still need it to verify events we
// signed before the rotation, and nobody should be able to sign with it again.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { fromBase64, toBase64 } from '../events/canonical-json.js';
import { generateSigningKey, isValidKeyVersion, parseKeyId, signingKeyFromSeed } from '../events/signing-key.js';
import type { SigningKey } from '../events/signing-key.js';

export interface OldVerifyKey {
  keyId: string;
  publicKeyBase64: string;
  expiredTs: number;
}

export interface ServerKeys {
  current: SigningKey;
  old: OldVerifyKey[];
}

export interface VerifyKeyInfo {
  keyId: string;
  publicKeyBase64: string;
  /** null for the current key; when it stopped being used for a retired one. */
  expiredTs: number | null;
}

const KEY_FILE = /^ed25519_([a-zA-Z0-9_]+)\.key$/;
const PENDING_FILE = /^ed25519_([a-zA-Z0-9_]+)\.key\.new$/;
const OLD_FILE = /^ed25519_([a-zA-Z0-9_]+)\.json$/;

const keyFile = (version: string) => `ed25519_${version}.key`;
const oldFile = (version: string) => `ed25519_${version}.json`;

/** Looks a key id up among the current and retired keys. */
export function verifyKeyFor(keys: ServerKeys, keyId: string): VerifyKeyInfo | undefined {
  if (keyId === keys.current.keyId) {
    return { keyId, publicKeyBase64: keys.current.publicKeyBase64, expiredTs: null };
  }
  const old = keys.old.find((k) => k.keyId === keyId);
  return old && { keyId, publicKeyBase64: old.publicKeyBase64, expiredTs: old.expiredTs };
}

/** Loads the server's keys, creating a first key if there is none. Also finishes (or
 *  abandons) a rotation that a crash interrupted; see rotateServerKey for the steps. */
export async function loadOrCreateServerKeys(dataDir: string, clock: Clock): Promise<ServerKeys> {
  void clock; // reserved: loading does not need the time today; rotation does
  const dir = await ensureKeyDirs(dataDir);
  const old = await readOldKeys(dir);
  const retired = new Set(old.map((k) => parseKeyId(k.keyId)!.version));
  await removeStaleTempFiles(dir);
  const names = await readdir(dir);

  // A pending key is promoted only if its predecessor was already retired (step 2 done);
  // otherwise nobody has seen it yet and dropping it is safe.
  for (const name of names) {
    const m = PENDING_FILE.exec(name);
    if (!m) continue;
    const predecessorRetired = names.some((n) => {
      const k = KEY_FILE.exec(n);
      return k !== null && retired.has(k[1]!);
    });
    if (predecessorRetired) await rename(join(dir, name), join(dir, keyFile(m[1]!)));
    else await unlink(join(dir, name));
  }

  const live: string[] = [];
  for (const name of await readdir(dir)) {
    const m = KEY_FILE.exec(name);
    if (!m) continue;
    if (retired.has(m[1]!)) await unlink(join(dir, name)); // step 4 of an interrupted rotation
    else live.push(m[1]!);
  }
  if (live.length > 1) {
    throw new Error(`several current signing keys in ${dir} (${live.map(keyFile).join(', ')}): keep one`);
  }
  const current =
    live.length === 1 ? await readKeyFile(dir, live[0]!) : await writeNewKey(dir, newVersion(retired), false);
  return { current, old };
}

/** Replaces the current key with a new one; the old key's public half is kept with
 *  expired_ts = now. Crash-safe order: (1) write the new key as `.key.new`, (2) write the
 *  old key's public record, (3) rename `.key.new` to `.key`, (4) delete the old `.key`. */
export async function rotateServerKey(dataDir: string, clock: Clock): Promise<ServerKeys> {
  const before = await loadOrCreateServerKeys(dataDir, clock);
  const dir = join(dataDir, 'keys');
  const taken = new Set([before.current.version, ...before.old.map((k) => parseKeyId(k.keyId)!.version)]);
  const next = await writeNewKey(dir, newVersion(taken), true);
  const retiring: OldVerifyKey = {
    keyId: before.current.keyId,
    publicKeyBase64: before.current.publicKeyBase64,
    expiredTs: clock.now(),
  };
  await writeFileAtomic(
    join(dir, 'old', oldFile(before.current.version)),
    JSON.stringify({ key_id: retiring.keyId, public_key: retiring.publicKeyBase64, expired_ts: retiring.expiredTs }) +
      '\n',
    0o644,
  );
  await rename(join(dir, keyFile(next.version) + '.new'), join(dir, keyFile(next.version)));
  await unlink(join(dir, keyFile(before.current.version)));
  return { current: next, old: [...before.old, retiring] };
}

async function ensureKeyDirs(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'keys');
  await mkdir(join(dir, 'old'), { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode is filtered by the umask, and skipped if it existed
  return dir;
}

/** Versions look like `a_3fZk`: unique among this server's keys, valid as a key version. */
function newVersion(taken: ReadonlySet<string>): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (;;) {
    const bytes = randomBytes(4);
    let v = 'a_';
    for (const b of bytes) v += alphabet[b % alphabet.length];
    if (!taken.has(v) && isValidKeyVersion(v)) return v;
  }
}

async function readKeyFile(dir: string, version: string): Promise<SigningKey> {
  const path = join(dir, keyFile(version));
  const text = (await readFile(path, 'utf8')).trim();
  let seed: Buffer;
  try {
    seed = fromBase64(text);
  } catch {
    throw new Error(`${path}: not a base64 Ed25519 seed`);
  }
  if (seed.length !== 32) throw new Error(`${path}: seed is ${seed.length} bytes, expected 32`);
  return signingKeyFromSeed(seed, version);
}

async function writeNewKey(dir: string, version: string, pending: boolean): Promise<SigningKey> {
  const key = generateSigningKey(version);
  const name = keyFile(version) + (pending ? '.new' : '');
  await writeFileAtomic(join(dir, name), toBase64(key.seed) + '\n', 0o600);
  return key;
}

async function readOldKeys(dir: string): Promise<OldVerifyKey[]> {
  const out: OldVerifyKey[] = [];
  for (const name of (await readdir(join(dir, 'old'))).sort()) {
    const m = OLD_FILE.exec(name);
    if (!m) continue;
    const path = join(dir, 'old', name);
    const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const keyId = `ed25519:${m[1]}`;
    const pub = raw.public_key;
    const ts = raw.expired_ts;
    if (raw.key_id !== keyId || typeof pub !== 'string' || typeof ts !== 'number' || !Number.isSafeInteger(ts)) {
      throw new Error(`${path}: expected {key_id: "${keyId}", public_key, expired_ts}`);
    }
    if (fromBase64(pub).length !== 32) throw new Error(`${path}: public_key is not 32 bytes`);
    out.push({ keyId, publicKeyBase64: pub, expiredTs: ts });
  }
  return out.sort((a, b) => a.expiredTs - b.expiredTs);
}

/** Temp files left by a crash inside writeFileAtomic never held the only copy of anything. */
async function removeStaleTempFiles(dir: string): Promise<void> {
  for (const sub of [dir, join(dir, 'old')]) {
    for (const name of await readdir(sub)) {
      if (name.includes('.tmp-')) await unlink(join(sub, name));
    }
  }
}

/** Write to a temp file, fsync, rename: a crash leaves the old file or the new, never half. */
async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
