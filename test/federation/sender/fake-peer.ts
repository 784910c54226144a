// A stand-in for a remote homeserver's `PUT send/{txnId}`: a real HTTP server on 127.0.0.1
// port 0 that records every transaction and can be told to fail (500, 400), to hang (never
// answer) or to refuse (reset the connection). It does not verify signatures: the request
// signing has its own tests; this one is about what the sender sends, and when.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { computeEventId } from '../../../src/events/event-id.js';
import type { Pdu } from '../../../src/events/event-types.js';
import type { SendTransactionBody } from '../../../src/federation/sender/index.js';

export type PeerMode = 'ok' | 'fail500' | 'reject400' | 'hang' | 'refuse';

export interface ReceivedTxn {
  txnId: string;
  body: SendTransactionBody;
  /** What the peer answered: 200, an error status, or 'hang' / 'refuse'. */
  outcome: number | 'hang' | 'refuse';
  eventIds: string[];
}

export interface FakePeer {
  /** `127.0.0.1:PORT`: a server name with an explicit port is dialled directly. */
  name: string;
  mode: PeerMode;
  /** Answer only after this long (to keep transactions in flight while others start). */
  delayMs: number;
  received: ReceivedTxn[];
  /** Event ids of the transactions it answered 200, in arrival order. */
  accepted(): string[];
  close(): Promise<void>;
}

export async function startFakePeer(mode: PeerMode = 'ok'): Promise<FakePeer> {
  const hanging: ServerResponse[] = [];
  const peer: FakePeer = {
    name: '',
    mode,
    delayMs: 0,
    received: [],
    accepted: () => peer.received.filter((t) => t.outcome === 200).flatMap((t) => t.eventIds),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => setTimeout(answer, peer.delayMs));
    const answer = () => {
      const m = /^\/_nexus\/federation\/v1\/send\/([^/?]+)$/.exec(req.url ?? '');
      if (req.method !== 'PUT' || !m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"N_UNRECOGNIZED","error":"no"}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendTransactionBody;
      const eventIds = body.pdus.map((p: Pdu) => computeEventId(p));
      const txn: ReceivedTxn = { txnId: decodeURIComponent(m[1]), body, outcome: 200, eventIds };
      peer.received.push(txn);
      switch (peer.mode) {
        case 'ok':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pdus: Object.fromEntries(eventIds.map((id) => [id, {}])) }));
          return;
        case 'fail500':
          txn.outcome = 500;
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"errcode":"N_UNKNOWN","error":"disk full"}');
          return;
        case 'reject400':
          txn.outcome = 400;
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"errcode":"N_BAD_JSON","error":"we do not like it"}');
          return;
        case 'hang':
          txn.outcome = 'hang';
          hanging.push(res);
          return;
        case 'refuse':
          txn.outcome = 'refuse';
          req.socket.destroy();
          return;
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  peer.name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return peer;
}
