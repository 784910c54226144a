// A fake federation peer for the benches: a tiny HTTP server on 127.0.0.1 that publishes
// its own Ed25519 key (so a real homeserver can verify what it signs), swallows whatever
// transactions the homeserver sends back, and joins its users to the homeserver's guilds
// through the real make_join / send_join endpoints. It builds and signs PDUs itself, like
// another Nexus would, so the homeserver under test sees exactly what a peer sends.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/clock.js';
import { canonicalJson } from '../../src/events/canonical-json.js';
import { selectAuthEvents } from '../../src/events/auth-events.js';
import { EventType, type Pdu, type StoredEvent, type UnsignedPdu } from '../../src/events/event-types.js';
import { finalizeEvent, inspectPdu } from '../../src/events/finalize-event.js';
import { generateSigningKey, type SigningKey } from '../../src/events/signing-key.js';
import { applyInPlace, type StateMap } from '../../src/events/state-map.js';
import { createServerResolver } from '../../src/federation/discovery.js';
import { createFederationClient, type FederationClient } from '../../src/federation/federation-client.js';
import { buildServerKeysResponse, KEY_SERVER_PATH } from '../../src/federation/key-server.js';
import { signRequest } from '../../src/federation/request-signing.js';
import { FEDERATION_PATH_PREFIX as P } from '../../src/federation/request-auth-middleware.js';

export interface FakePeer {
  /** `127.0.0.1:<port>`: an explicit port, so homeservers dial it directly. */
  serverName: string;
  key: SigningKey;
  /** Signed requests as this peer (undici, keep-alive). */
  client: FederationClient;
  /** Transactions the homeserver sent us (we answer each with an empty success). */
  received(): number;
  close(): Promise<void>;
}

/** Starts the peer's HTTP server on an ephemeral loopback port. */
export async function startFakePeer(): Promise<FakePeer> {
  const key = generateSigningKey(randomBytes(3).toString('hex'));
  let serverName = '';
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume(); // bodies are not read: this peer only needs to say "got it"
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === KEY_SERVER_PATH) {
        res.end(JSON.stringify(buildServerKeysResponse(serverName, { current: key, old: [] }, systemClock.now())));
      } else if (req.method === 'PUT' && req.url?.startsWith(`${P}/send/`)) {
        received++;
        res.end('{"pdus":{}}');
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ errcode: 'N_UNRECOGNIZED', error: 'a bench peer serves only its keys and send/' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverName = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resolver = createServerResolver({ clock: systemClock, insecure: true });
  const client = createFederationClient({ serverName, signingKey: () => key, resolve: (n) => resolver.resolveServer(n), insecure: true });
  return {
    serverName,
    key,
    client,
    received: () => received,
    async close() {
      await client.close();
      await resolver.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A guild as a peer sees it after joining: the state after its last join, and the DAG tip. */
export interface PeerGuild {
  roomId: string;
  channelKey: string;
  state: Map<string, StoredEvent>;
  tip: { eventId: string; depth: number };
}

/** Joins `@localpart:peer` to the guild of `code` on `destination` (query/invite, make_join, send_join). */
export async function joinThroughInvite(peer: FakePeer, destination: string, code: string, localpart: string, guild?: PeerGuild): Promise<PeerGuild> {
  const q = `code=${encodeURIComponent(code)}`;
  const userId = `@${localpart}:${peer.serverName}`;
  const info = await peer.client.get<{ room_id: string; channel: string }>(destination, `${P}/query/invite?${q}`);
  const path = `${encodeURIComponent(info.room_id)}/${encodeURIComponent(userId)}`;
  const { event: t } = await peer.client.get<{ event: UnsignedPdu }>(destination, `${P}/make_join/${path}?${q}`);
  const join = finalizeEvent({ ...t, origin: peer.serverName, origin_server_ts: Date.now() }, peer.serverName, peer.key);
  const answer = await peer.client.request<{ event: Pdu; state: Pdu[] }>(destination, 'PUT',
    `${P}/send_join/${encodeURIComponent(info.room_id)}/${encodeURIComponent(join.event_id)}?${q}`, { body: join.pdu });
  // Trust the homeserver under test: the bench checks throughput, not the resident's honesty.
  const state = guild?.state ?? new Map<string, StoredEvent>();
  for (const pdu of answer.state) applyInPlace(state, { event_id: inspectPdu(pdu).eventId, pdu });
  const signed = { event_id: join.event_id, pdu: answer.event };
  applyInPlace(state, signed);
  return { roomId: info.room_id, channelKey: info.channel, state, tip: { eventId: join.event_id, depth: t.depth } };
}

/**
 * `count` messages by `sender`, each on the one before (a chain on top of `from`), signed by
 * the peer. Every message's auth_events are the sender's, from the peer's view of the state.
 */
export function messageChain(peer: FakePeer, guild: PeerGuild, sender: string, from: { eventId: string; depth: number }, count: number, label: string): StoredEvent[] {
  const authEvents = selectAuthEvents(EventType.Message, undefined, sender, { channel: guild.channelKey }, guild.state as StateMap);
  const out: StoredEvent[] = [];
  let prev = from.eventId;
  let depth = from.depth;
  const ts = Date.now();
  for (let i = 0; i < count; i++) {
    const ev = finalizeEvent({
      room_id: guild.roomId, type: EventType.Message, sender, origin: peer.serverName, origin_server_ts: ts + i, depth: ++depth,
      prev_events: [prev], auth_events: authEvents, content: { channel: guild.channelKey, body: `bench ${label} ${i} ${'x'.repeat(40)}` },
    }, peer.serverName, peer.key);
    out.push(ev);
    prev = ev.event_id;
  }
  return out;
}

/** A PUT send/{txnId} ready to go on the wire: the body as sent and its Authorization header. */
export interface SignedTransaction {
  path: string;
  body: string;
  authorization: string;
  eventIds: string[];
}

/** Builds and signs a transaction of `pdus` from the peer to `destination` (what federation-client does per request). */
export function signedTransaction(peer: FakePeer, destination: string, txnId: string, events: StoredEvent[]): SignedTransaction {
  const path = `${P}/send/${txnId}`;
  const content = { origin: peer.serverName, origin_server_ts: Date.now(), pdus: events.map((e) => e.pdu), edus: [] };
  const body = canonicalJson(content);
  const authorization = signRequest({ method: 'PUT', uri: path, origin: peer.serverName, destination, content }, peer.key, body);
  return { path, body, authorization, eventIds: events.map((e) => e.event_id) };
}
