import type { SignatureVerifier } from './check-pdu.js';
import { createParallelVerifier, type ParallelVerifier } from './verify-state.js';

/**
 * A homeserver's signature-checking worker threads for inbound transactions: started when a
 * big transaction first needs them, shared by the transactions being checked at the same
 * time, ended after `idleMs` without one, and by close() (the homeserver's). Signatures
 * then go to the workers only (`shareHere: false`), leaving the event loop to the JSON,
 * the auth rules and the database of the transactions in flight.
 */
export interface VerifierPool {
  use<T>(fn: (verify: SignatureVerifier) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createVerifierPool(opts: { idleMs?: number } = {}): VerifierPool {
  const idleMs = opts.idleMs ?? 10_000;
  let verifier: ParallelVerifier | undefined;
  let users = 0;
  let idle: NodeJS.Timeout | undefined;
  let closed = false;

  function end(): Promise<void> {
    clearTimeout(idle);
    const v = verifier;
    verifier = undefined;
    return v ? v.close() : Promise.resolve();
  }

  return {
    async use(fn) {
      if (closed) throw new Error('the verifier pool is closed');
      clearTimeout(idle);
      users++;
      const v = (verifier ??= createParallelVerifier({ shareHere: false, unref: true }));
      try {
        return await fn(v.verify);
      } finally {
        if (--users === 0 && !closed) {
          idle = setTimeout(() => void end(), idleMs);
          idle.unref();
        }
      }
    },
    async close() {
      closed = true;
      await end();
    },
  };
}
