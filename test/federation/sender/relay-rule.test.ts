import { EventType, type Pdu } from '../../../src/events/event-types.js';
import { destinationsFor, shouldRelay } from '../../../src/federation/sender/relay-rule.js';
import { pduTransactionId } from '../../../src/federation/sender/transaction.js';

const US = 'a.test';

function pdu(over: Partial<Pdu>): Pdu {
  return {
    room_id: '!g:a.test', type: EventType.Message, sender: '@alice:a.test', origin: US, origin_server_ts: 1, depth: 3,
    prev_events: [], auth_events: [], content: {}, hashes: { sha256: 'x' }, signatures: {}, ...over,
  };
}

describe('relay rule', () => {
  it('relays what we built, and nothing of an account room', () => {
    expect(shouldRelay(pdu({}), US)).toBe(true);
    expect(shouldRelay(pdu({ type: EventType.ReadState, state_key: '!g:a.test|c' }), US, { accountRoom: true })).toBe(false);
    expect(shouldRelay(pdu({}), US, { accountRoom: true })).toBe(false);
  });

  it("relays a remote user's own membership (accepted through send_join), not other remote events", () => {
    const join = pdu({ type: EventType.Member, state_key: '@bob:b.test', sender: '@bob:b.test', origin: 'b.test', content: { membership: 'join' } });
    expect(shouldRelay(join, US)).toBe(true);
    expect(shouldRelay(pdu({ origin: 'b.test', sender: '@bob:b.test' }), US)).toBe(false);
    // A kick of c.test's user by b.test is b.test's business to send, not ours.
    expect(shouldRelay(pdu({ type: EventType.Member, state_key: '@carol:c.test', sender: '@bob:b.test', origin: 'b.test', content: { membership: 'leave' } }), US)).toBe(false);
    expect(shouldRelay(pdu({ type: EventType.Channel, state_key: 'b.test', origin: 'b.test' }), US)).toBe(false);
    expect(shouldRelay(join, US, { accountRoom: true })).toBe(false);
  });

  it('sends to the joined servers and the member concerned, never to us or the origin, sorted', () => {
    const joined = new Set([US, 'c.test', 'b.test:8448', 'b.test']);
    expect(destinationsFor(pdu({}), joined, US)).toEqual(['b.test', 'b.test:8448', 'c.test']);
    const kick = pdu({ type: EventType.Member, state_key: '@dave:d.test', content: { membership: 'leave' } });
    expect(destinationsFor(kick, joined, US)).toEqual(['b.test', 'b.test:8448', 'c.test', 'd.test']);
    const remoteJoin = pdu({ type: EventType.Member, state_key: '@bob:b.test', origin: 'b.test', content: { membership: 'join' } });
    expect(destinationsFor(remoteJoin, joined, US)).toEqual(['b.test:8448', 'c.test']);
    expect(destinationsFor(pdu({}), new Set([US]), US)).toEqual([]);
  });
});

describe('transaction ids', () => {
  it('are the same for the same rows and differ when a row slips in between', () => {
    const rows = [{ position: '10', event_id: '$a' }, { position: '14', event_id: '$b' }];
    expect(pduTransactionId(rows)).toBe(pduTransactionId([...rows]));
    expect(pduTransactionId(rows)).toMatch(/^10-14-[A-Za-z0-9_-]{16}$/);
    const withLateRow = [rows[0], { position: '12', event_id: '$late' }, rows[1]];
    expect(pduTransactionId(withLateRow)).not.toBe(pduTransactionId(rows));
  });
});
