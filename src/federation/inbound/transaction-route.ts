import express, { type Router } from 'express';
import type { Clock } from '../../clock.js';
import type { Db } from '../../store/database.js';
import { federationError } from '../errors.js';
import { FEDERATION_PATH_PREFIX, type FederationLocals } from '../request-auth-middleware.js';
import type { PduReceiver } from './receive-pdus.js';
import { MAX_EDUS_PER_TXN, MAX_PDUS_PER_TXN, type Edu } from '../sender/transaction.js';

/**
 * PUT send/{txnId} (spec/federation.md, "Transactions"): at most 50 PDUs and 100 EDUs from
 * the authenticated origin. Idempotent per (origin, txnId): the first answer is stored and
 * a replay gets it again without anything being processed twice.
 */
export function transactionRouter(deps: { db: Db; clock: Clock; receiver: PduReceiver; onEdu?: (origin: string, edu: Edu) => void }): Router {
  const r = express.Router();
  // One transaction at a time per origin: a retry racing its original waits for its answer.
  const inFlight = new Map<string, Promise<unknown>>();

  r.put(`${FEDERATION_PATH_PREFIX}/send/:txnId`, async (req, res) => {
    const origin = (res.locals as FederationLocals).origin;
    const txnId = req.params.txnId;
    if (!/^[A-Za-z0-9._~-]{1,128}$/.test(txnId)) throw federationError('N_INVALID_PARAM', 'txnId must be 1..128 URL-safe characters');
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.pdus) || (body.edus !== undefined && !Array.isArray(body.edus))) {
      throw federationError('N_BAD_JSON', 'a transaction is {origin, origin_server_ts, pdus: [], edus?: []}');
    }
    if (body.origin !== origin) throw federationError('N_FORBIDDEN', `the transaction claims origin ${String(body.origin)} but was signed by ${origin}`);
    const edus = (body.edus ?? []) as unknown[];
    if (body.pdus.length > MAX_PDUS_PER_TXN || edus.length > MAX_EDUS_PER_TXN) {
      throw federationError('N_TOO_LARGE', `a transaction holds at most ${MAX_PDUS_PER_TXN} PDUs and ${MAX_EDUS_PER_TXN} EDUs`);
    }
    const key = `${origin}\u0000${txnId}`;
    while (inFlight.has(key)) await inFlight.get(key)!.catch(() => {});
    const work = answer(origin, txnId, body.pdus, edus);
    inFlight.set(key, work);
    try {
      res.json(await work);
    } finally {
      inFlight.delete(key);
    }
  });

  async function answer(origin: string, txnId: string, pdus: unknown[], edus: unknown[]): Promise<unknown> {
    const seen = await deps.db.selectFrom('federation_txns').select('response').where('origin', '=', origin).where('txn_id', '=', txnId).executeTakeFirst();
    if (seen) return JSON.parse(seen.response);
    const results = await deps.receiver.receive(origin, pdus);
    for (const edu of edus) {
      if (edu && typeof edu === 'object' && typeof (edu as Edu).edu_type === 'string' && typeof (edu as Edu).content === 'object') deps.onEdu?.(origin, edu as Edu);
    }
    const response = { pdus: results };
    await deps.db.insertInto('federation_txns').values({ origin, txn_id: txnId, response: JSON.stringify(response), received_ts: deps.clock.now() })
      .onConflict((oc) => oc.columns(['origin', 'txn_id']).doNothing()).execute();
    return response;
  }

  return r;
}
