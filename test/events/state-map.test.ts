import { ChannelKind, EventType as T, EVERYONE_ROLE } from '../../src/events/event-types.js';
import {
  applyInPlace,
  applyToState,
  getChannel,
  getCreate,
  getMember,
  getOwner,
  getRole,
  joinedMembers,
  listChannels,
  listOverwrites,
  listRoles,
  membershipOf,
  splitStateMapKey,
  stateMapKey,
} from '../../src/events/state-map.js';
import { basicGuild, OWNER, pdu, stored } from './auth-fixtures.js';

const ALICE = '@alice:b.test';

describe('state map', () => {
  const g = basicGuild()
    .role('mod', 0n, 3)
    .role('gone', 0n, 2, { deleted: true })
    .channel('old', ChannelKind.Text, { deleted: true })
    .channel('voice', ChannelKind.Voice, { position: 1 })
    .overwrite('general', EVERYONE_ROLE, 0n, 0n)
    .overwrite('general', 'mod', 0n, 0n, { deleted: true })
    .overwrite('voice', ALICE, 0n, 0n)
    .member(ALICE, 'join', ['mod'])
    .member('@bob:b.test', 'leave');

  it('keys are unambiguous and reversible', () => {
    expect(splitStateMapKey(stateMapKey(T.Overwrite, 'a|b\u0000c'))).toEqual({ type: T.Overwrite, stateKey: 'a|b\u0000c' });
  });

  it('reads create, owner, members and memberships', () => {
    expect(getCreate(g.view)?.pdu.type).toBe(T.Create);
    expect(getOwner(g.view)).toBe(OWNER);
    expect(getMember(g.view, ALICE)?.roles).toEqual(['mod']);
    expect(membershipOf(g.view, '@bob:b.test')).toBe('leave');
    expect(membershipOf(g.view, '@nobody:b.test')).toBeUndefined();
    expect(joinedMembers(g.view).sort()).toEqual([ALICE, OWNER].sort());
  });

  it('hides deleted roles, channels and overwrites', () => {
    expect(getRole(g.view, 'gone')).toBeUndefined();
    expect(getChannel(g.view, 'old')).toBeUndefined();
    expect(listRoles(g.view).map((r) => r.key)).toEqual([EVERYONE_ROLE, 'mod']);
    expect(listChannels(g.view).map((c) => c.key)).toEqual(['general', 'voice']);
    expect(listOverwrites(g.view, 'general').map((o) => o.content.target)).toEqual([EVERYONE_ROLE]);
    expect(listOverwrites(g.view, 'voice').map((o) => o.content.target)).toEqual([ALICE]);
  });

  it('applyToState copies; applyInPlace mutates; non-state events are ignored', () => {
    const before = g.view;
    const ev = stored(pdu(T.Member, ALICE, { membership: 'leave' }, ALICE));
    const after = applyToState(before, ev);
    expect(membershipOf(after, ALICE)).toBe('leave');
    expect(membershipOf(before, ALICE)).toBe('join');
    const msg = stored(pdu(T.Message, ALICE, { channel: 'general', body: 'x' }));
    expect(applyToState(before, msg)).toBe(before);
    const copy = new Map(before);
    applyInPlace(copy, ev);
    applyInPlace(copy, msg);
    expect(copy.size).toBe(before.size);
    expect(membershipOf(copy, ALICE)).toBe('leave');
  });
});
