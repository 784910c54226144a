import { EventType, type StoredEvent } from '../../src/events/event-types.js';
import { stateFromEvents } from '../../src/events/state-map.js';
import { stateEntries, stateHash } from '../../src/events/state-hash.js';
import { OWNER, pdu, stored } from './auth-fixtures.js';

describe('stateHash', () => {
  const events: StoredEvent[] = [
    stored(pdu(EventType.Create, OWNER, { creator: OWNER, room_version: '1', kind: 'guild' }, '')),
    stored(pdu(EventType.Member, OWNER, { membership: 'join' }, OWNER)),
    stored(pdu(EventType.Role, OWNER, { name: 'a', permissions: '0', position: 1 }, 'r1')),
  ];

  it('depends on the entries, not on the order the state was built in', () => {
    expect(stateHash(stateFromEvents(events))).toBe(stateHash(stateFromEvents([...events].reverse())));
    expect(stateEntries(stateFromEvents(events)).map((e) => e.type)).toEqual(['nexus.guild.create', 'nexus.guild.member', 'nexus.guild.role']);
  });

  it('changes when any slot holds another event', () => {
    const other = stored(pdu(EventType.Role, OWNER, { name: 'b', permissions: '0', position: 1 }, 'r1'));
    expect(stateHash(stateFromEvents([...events, other]))).not.toBe(stateHash(stateFromEvents(events)));
  });
});
