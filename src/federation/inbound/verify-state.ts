import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { authorizeEvent } from '../../events/auth-rules.js';
import { decodeSignature } from '../../events/signing.js';
import { EventType, type StoredEvent } from '../../events/event-types.js';
import { authEventsState } from '../../events/state-res/power-events.js';
import { applyInPlace } from '../../events/state-map.js';
import type { RemoteKeyStore } from '../remote-keys.js';
import { checkPdu, type PduCheck, type SignatureVerifier } from './check-pdu.js';
import { byDepthThenId } from '../read-endpoints/dag-walk.js';

export type VerifiedState =
  | { ok: true; state: Map<string, StoredEvent>; events: StoredEvent[] }
  | { ok: false; reason: string };

/** From this many events on, signatures are checked on worker threads too (a big guild's
 *  join: 10,000 members are 10,000 signatures, ~0.7 s on one core). */
export const PARALLEL_VERIFY_MIN = 1000;

/**
 * Checks a state and auth chain a peer sent (send_join's answer, or /state when a gap can't
 * be fetched) before anything is trusted: every event signed by its origin with its hash
 * intact, every event allowed by the auth rules against the state its own auth_events make
 * (all of which must be in what was sent), and one create event for `roomId`. Returns
 * the state as a map and every event, auth chain first, by depth.
 */
export async function verifyState(roomId: string, statePdus: unknown[], authChainPdus: unknown[], keys: RemoteKeyStore): Promise<VerifiedState> {
  const byId = new Map<string, StoredEvent>();
  const stateIds: string[] = [];
  const all = [...authChainPdus, ...statePdus];
  // Every event is checked at once (the same checks, in any order), and the first failure
  // in the order sent is the answer, as if they had been checked one by one.
  const verifier = all.length >= PARALLEL_VERIFY_MIN ? createParallelVerifier() : undefined;
  let checks: PduCheck[];
  try {
    checks = await Promise.all(all.map((raw) => checkPdu(raw, roomId, keys, { verify: verifier?.verify })));
  } finally {
    await verifier?.close();
  }
  for (const [i, checked] of checks.entries()) {
    if (!checked.ok) return { ok: false, reason: `event ${checked.eventId ?? '?'}: ${checked.reason}` };
    // A redacted state event could not have been accepted by its guild as it is.
    if (checked.redacted) return { ok: false, reason: `event ${checked.event.event_id} fails its content hash` };
    byId.set(checked.event.event_id, checked.event);
    if (i >= authChainPdus.length) stateIds.push(checked.event.event_id);
  }
  const events = [...byId.values()].sort(byDepthThenId);
  for (const ev of events) {
    const missing = (ev.pdu.auth_events ?? []).filter((id) => !byId.has(id));
    if (missing.length > 0) return { ok: false, reason: `event ${ev.event_id} cites auth events that were not sent: ${missing.join(', ')}` };
    const verdict = authorizeEvent(ev, authEventsState(ev, (id) => byId.get(id)));
    if (!verdict.ok) return { ok: false, reason: `event ${ev.event_id} is not allowed by its auth events: ${verdict.reason}` };
  }
  const state = new Map<string, StoredEvent>();
  for (const id of stateIds) {
    const ev = byId.get(id)!;
    if (typeof ev.pdu.state_key !== 'string') return { ok: false, reason: `event ${id} in the state is not a state event` };
    applyInPlace(state, ev);
  }
  const creates = stateIds.filter((id) => byId.get(id)!.pdu.type === EventType.Create);
  if (creates.length !== 1) return { ok: false, reason: 'the state must hold exactly one create event' };
  return { ok: true, state, events };
}

// What each worker runs: node:crypto's Ed25519 verify over pre-decoded signatures, exactly
// as verifyCanonical does (a throw is "not valid"). Plain JS, so it runs under any loader.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { verify } = require('node:crypto');
parentPort.on('message', ({ keys, jobs }) => {
  const out = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const [canonical, sig, k] = jobs[i];
    try { out[i] = verify(null, Buffer.from(canonical, 'utf8'), keys[k], sig) ? 1 : 0; } catch { out[i] = 0; }
  }
  parentPort.postMessage(out, [out.buffer]);
});`;

interface Job {
  canonical: string;
  sig: Buffer;
  key: KeyObject;
  resolve: (ok: boolean) => void;
}

export interface ParallelVerifier {
  verify: SignatureVerifier;
  close(): Promise<void>;
}

/**
 * A verifier that gathers the signatures asked for in one turn of the event loop and checks
 * them in parallel: a share on each worker thread and (`shareHere`, the default) a share on
 * this one. Workers live as long as the verifier: close() ends them. `unref`: they do not
 * keep the process alive (for a verifier kept between requests).
 */
export function createParallelVerifier(opts: { shareHere?: boolean; unref?: boolean } = {}): ParallelVerifier {
  const threads = Math.max(1, Math.min(3, availableParallelism() - 1));
  const here = opts.shareHere === false ? 0 : 1;
  let closing = false;
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    if (opts.unref) worker.unref();
    const waiting: Job[][] = []; // a worker answers its messages in order
    worker.on('message', (out: Uint8Array) => waiting.shift()?.forEach((j, i) => j.resolve(out[i] === 1)));
    // A worker that fails leaves its share to this thread: no check is ever left hanging.
    const self = { worker, waiting, dead: false };
    const fallBack = () => {
      self.dead = true;
      for (const part of waiting.splice(0)) for (const j of part) j.resolve(verifyHere(j));
    };
    worker.on('error', fallBack);
    worker.on('exit', () => {
      if (!closing) fallBack();
    });
    return self;
  });
  let queue: Job[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const jobs = queue;
    queue = [];
    const share = Math.ceil(jobs.length / (threads + here));
    for (const [w, { worker, waiting, dead }] of workers.entries()) {
      const part = jobs.slice(w * share, (w + 1) * share);
      if (part.length === 0) continue;
      if (dead) {
        for (const j of part) j.resolve(verifyHere(j));
        continue;
      }
      const keys: KeyObject[] = [];
      const index = new Map<KeyObject, number>();
      const payload = part.map((j) => {
        let k = index.get(j.key);
        if (k === undefined) index.set(j.key, (k = keys.push(j.key) - 1));
        return [j.canonical, j.sig, k];
      });
      waiting.push(part);
      worker.postMessage({ keys, jobs: payload });
    }
    for (const j of jobs.slice(threads * share)) j.resolve(verifyHere(j));
  }

  const verify: SignatureVerifier = (canonical, signatureBase64, key) => {
    const sig = decodeSignature(signatureBase64);
    if (!sig) return false;
    return new Promise<boolean>((resolve) => {
      queue.push({ canonical, sig, key, resolve });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush); // after every check that is ready has asked
      }
    });
  };

  return {
    verify,
    async close() {
      closing = true;
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
    },
  };
}

function verifyHere(j: Job): boolean {
  try {
    return cryptoVerify(null, Buffer.from(j.canonical, 'utf8'), j.key, j.sig);
  } catch {
    return false;
  }
}
