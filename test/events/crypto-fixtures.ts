// Shared fixtures for the event crypto tests: the published test key and sample events.
import type { UnsignedPdu } from '../../src/events/event-types.js';
import { EventType } from '../../src/events/event-types.js';
import { signingKeyFromSeed } from '../../src/events/signing-key.js';

export const TEST_SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
export const testKey = () => signingKeyFromSeed(TEST_SEED, 'test1');
export const SERVER = 'example.org';

export function sampleMessage(overrides: Partial<UnsignedPdu> = {}): UnsignedPdu {
  return {
    room_id: '!room:example.org',
    type: EventType.Message,
    sender: '@alice:example.org',
    origin: SERVER,
    origin_server_ts: 1_700_000_000_000,
    depth: 3,
    prev_events: ['$prev'],
    auth_events: ['$create', '$member'],
    content: { channel: 'c1', body: 'hello', mentions: ['@bob:example.org'] },
    ...overrides,
  };
}

export function sampleMember(overrides: Partial<UnsignedPdu> = {}): UnsignedPdu {
  return {
    room_id: '!room:example.org',
    type: EventType.Member,
    state_key: '@bob:example.org',
    sender: '@bob:example.org',
    origin: SERVER,
    origin_server_ts: 1_700_000_000_000,
    depth: 2,
    prev_events: ['$create'],
    auth_events: ['$create'],
    content: { membership: 'join', roles: ['r1'], nick: 'Bob', reason: 'hi' },
    ...overrides,
  };
}
