import { EventType } from '../../src/events/event-types.js';
import { applyInPlace } from '../../src/events/state-map.js';
import { allowed, basicGuild, denied, MOD, OWNER, pdu, ROOM, stored } from './auth-fixtures.js';

// Rule 13: an account room is its creator's private DAG of read states.
const MESSAGE = '$' + 'a'.repeat(43);
const readState = (sender: string, channel = 'general', room = '!other:a.test') =>
  pdu(EventType.ReadState, sender, { room, channel, event: MESSAGE }, `${room}|${channel}`);

function accountRoom(joined = true) {
  const state = new Map();
  const create = stored({ ...pdu(EventType.Create, OWNER, { creator: OWNER, room_version: '1', kind: 'account' }, ''), prev_events: [], depth: 1 });
  applyInPlace(state, create);
  if (joined) applyInPlace(state, stored(pdu(EventType.Member, OWNER, { membership: 'join' }, OWNER)));
  return state;
}

describe('rule 13: account rooms', () => {
  it('lets the owner join once, then write read states', () => {
    allowed(pdu(EventType.Member, OWNER, { membership: 'join' }, OWNER), accountRoom(false));
    denied(pdu(EventType.Member, OWNER, { membership: 'join' }, OWNER), accountRoom(true), /^13/);
    allowed(readState(OWNER), accountRoom());
  });

  it('refuses anyone else, and every guild event', () => {
    denied(pdu(EventType.Member, MOD, { membership: 'join' }, MOD), accountRoom(), /^13: only the owner/);
    denied(readState(MOD), accountRoom(), /^(2\.4|13)/);
    denied(pdu(EventType.Message, OWNER, { channel: 'general', body: 'hi' }), accountRoom(), /^13: nexus.message/);
    denied(pdu(EventType.Channel, OWNER, { name: 'x', kind: 0, position: 0 }, 'chan'), accountRoom(), /^13/);
  });

  it('refuses a read state whose state key does not name its room and channel', () => {
    const bad = pdu(EventType.ReadState, OWNER, { room: '!other:a.test', channel: 'general', event: MESSAGE }, '!other:a.test|random');
    denied(bad, accountRoom(), /^2\.3/);
  });

  it('refuses read states in a guild', () => {
    const g = basicGuild();
    denied({ ...readState(OWNER), room_id: ROOM }, g.state, /^13: read states belong/);
  });
});
