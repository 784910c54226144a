// EDUs waiting per destination: in memory only, best effort. They are ephemeral (typing,
// presence): after a restart they are stale anyway, so they are never written down, and a
// destination that is down keeps only its newest ones.
import { MAX_EDUS_PER_TXN, type Edu } from './transaction.js';

export interface EduQueues {
  push(destination: string, edu: Edu): void;
  /** Removes and returns up to `max` EDUs, oldest first. */
  take(destination: string, max?: number): Edu[];
  /** Destinations with EDUs waiting. */
  destinations(): string[];
}

export function createEduQueues(capacity = MAX_EDUS_PER_TXN): EduQueues {
  const queues = new Map<string, Edu[]>();
  return {
    push(destination, edu) {
      let q = queues.get(destination);
      if (!q) queues.set(destination, (q = []));
      q.push(edu);
      if (q.length > capacity) q.splice(0, q.length - capacity); // the oldest are the stalest
    },
    take(destination, max = MAX_EDUS_PER_TXN) {
      const q = queues.get(destination);
      if (!q) return [];
      const out = q.splice(0, max);
      if (q.length === 0) queues.delete(destination);
      return out;
    },
    destinations: () => [...queues.keys()],
  };
}
