// The inbound signature workers: the same answers as checking here, shared by concurrent
// transactions, and ended by the pool's close() rather than left to an idle timer.
import { sign } from 'node:crypto';
import { generateSigningKey } from '../../../src/events/signing-key.js';
import { createVerifierPool } from '../../../src/federation/inbound/verifier-pool.js';

const key = generateSigningKey('t1');
const other = generateSigningKey('t2');
const signed = (text: string) => sign(null, Buffer.from(text, 'utf8'), key.privateKeyObject).toString('base64').replace(/=+$/, '');

describe('verifier pool', () => {
  it('accepts good signatures and refuses bad ones, for concurrent users, until closed', async () => {
    const pool = createVerifierPool({ idleMs: 60_000 });
    const texts = Array.from({ length: 40 }, (_, i) => `{"n":${i}}`);
    const [mine, theirs] = await Promise.all([
      pool.use((verify) => Promise.all(texts.map((t) => verify(t, signed(t), key.publicKeyObject)))),
      pool.use((verify) => Promise.all(texts.map((t, i) => (i % 2 ? verify(t, signed(t), other.publicKeyObject) : verify(`${t} `, signed(t), key.publicKeyObject))))),
    ]);
    expect(mine.every((ok) => ok === true)).toBe(true);
    expect(theirs.every((ok) => ok === false)).toBe(true);
    expect(await pool.use(async (verify) => verify('x', 'not base64!', key.publicKeyObject))).toBe(false);

    await pool.close();
    await expect(pool.use(async () => 1)).rejects.toThrow(/closed/);
  });

  it('still answers after an idle period has ended its workers', async () => {
    const pool = createVerifierPool({ idleMs: 20 });
    const once = () => pool.use((verify) => Promise.resolve(verify('{}', signed('{}'), key.publicKeyObject)));
    expect(await once()).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await once()).toBe(true);
    await pool.close();
  });
});
