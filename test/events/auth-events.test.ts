import fc from 'fast-check';
import { ChannelKind, EventType as T, EVERYONE_ROLE, type Pdu, type StoredEvent } from '../../src/events/event-types.js';
import { selectAuthEvents } from '../../src/events/auth-events.js';
import { authorizeEvent } from '../../src/events/auth-rules.js';
import { Permission as P } from '../../src/events/permissions.js';
import { getStateEvent, overwriteKey, stateFromEvents, type StateMap } from '../../src/events/state-map.js';
import { ADMIN, ALICE, BOB, EVE, guild, MOD, OWNER, pdu } from './auth-fixtures.js';

function idOf(state: StateMap, type: string, key: string): string {
  const ev = getStateEvent(state, type, key);
  if (!ev) throw new Error(`no ${type} ${key}`);
  return ev.event_id;
}

function authOf(p: Pdu, state: StateMap): string[] {
  return selectAuthEvents(p.type, p.state_key, p.sender, p.content, state);
}

// given: a guild with overwrites on two channels and a member on another channel's overwrite
const g = guild()
  .channel('cat', ChannelKind.Category)
  .channel('other')
  .overwrite('general', EVERYONE_ROLE, 0n, P.ADD_REACTIONS)
  .overwrite('general', 'low', P.ADD_REACTIONS, 0n)
  .overwrite('general', ALICE, 0n, P.ATTACH_FILES)
  .overwrite('general', BOB, 0n, P.SEND_MESSAGES)
  .overwrite('other', EVERYONE_ROLE, 0n, P.SEND_MESSAGES)
  .overwrite('general', MOD, 0n, P.MANAGE_MESSAGES)
  .member(EVE, 'invite');
const s = g.view;

describe('selectAuthEvents', () => {
  it('is empty for create', () => {
    expect(selectAuthEvents(T.Create, '', OWNER, {}, s)).toEqual([]);
  });

  it('for a message: create, sender, sender roles, @everyone, channel and the sender’s overwrites only', () => {
    const ids = authOf(pdu(T.Message, ALICE, { channel: 'general', body: 'x' }), s);
    const expected = [
      idOf(s, T.Create, ''),
      idOf(s, T.Member, ALICE),
      idOf(s, T.Role, 'low'),
      idOf(s, T.Role, EVERYONE_ROLE),
      idOf(s, T.Channel, 'general'),
      idOf(s, T.Overwrite, overwriteKey('general', EVERYONE_ROLE)),
      idOf(s, T.Overwrite, overwriteKey('general', 'low')),
      idOf(s, T.Overwrite, overwriteKey('general', ALICE)),
    ].sort();
    expect(ids).toEqual(expected);
  });

  it('for a kick: also the target’s member event and roles', () => {
    const ids = authOf(pdu(T.Member, MOD, { membership: 'leave' }, ALICE), s);
    expect(ids).toEqual(expect.arrayContaining([idOf(s, T.Member, ALICE), idOf(s, T.Role, 'low'), idOf(s, T.Role, 'mod')]));
    expect(ids).not.toContain(idOf(s, T.Channel, 'general'));
  });

  it('for an authorised join: the authoriser’s member event and roles', () => {
    const ids = authOf(pdu(T.Member, '@zed:c.test', { membership: 'join', authorised_by: ALICE }, '@zed:c.test'), s);
    expect(ids).toEqual(expect.arrayContaining([idOf(s, T.Member, ALICE), idOf(s, T.Role, 'low')]));
  });

  it('is sorted and deduplicated', () => {
    const ids = authOf(pdu(T.Member, ALICE, { membership: 'join', roles: ['low'] }, ALICE), s);
    expect(ids).toEqual([...new Set(ids)].sort());
  });
});

// The property federation relies on: judging an event against its auth events alone gives
// the same answer as judging it against the full state.
const users = [OWNER, MOD, ADMIN, ALICE, BOB, EVE, '@zed:c.test'];
const channels = ['general', 'other', 'cat', 'nope'];
const roles = [EVERYONE_ROLE, 'low', 'mod', 'high', 'admin', 'ghost'];
const bit = fc.constantFrom(0n, P.SEND_MESSAGES, P.ADD_REACTIONS, P.MANAGE_MESSAGES, P.MANAGE_ROLES, P.BAN_MEMBERS);

const candidate: fc.Arbitrary<Pdu> = fc.oneof(
  fc.tuple(fc.constantFrom(...users), fc.constantFrom(...users), fc.constantFrom('join', 'leave', 'ban', 'invite'), fc.subarray(['low', 'mod', 'high', 'ghost']), fc.option(fc.constantFrom(...users), { nil: undefined }), fc.option(fc.constantFrom('Nick'), { nil: undefined }))
    .map(([sender, target, membership, rs, authorised_by, nick]) => {
      const c: Record<string, unknown> = { membership };
      if (membership === 'join' && rs.length) c.roles = rs;
      if (authorised_by) c.authorised_by = authorised_by;
      if (nick) c.nick = nick;
      const p = pdu(T.Member, sender, c, target);
      if (authorised_by) p.signatures['b.test'] = { 'ed25519:1': 'sig' };
      return p;
    }),
  fc.tuple(fc.constantFrom(...users), fc.constantFrom(...channels), fc.constantFrom(...channels, undefined), fc.constantFrom(ChannelKind.Text, ChannelKind.Category))
    .map(([sender, key, parent, kind]) => pdu(T.Channel, sender, { name: key, kind, position: 1, ...(parent ? { parent } : {}) }, key)),
  fc.tuple(fc.constantFrom(...users), fc.constantFrom(...roles), bit, fc.integer({ min: 0, max: 9 }))
    .map(([sender, key, perms, position]) => pdu(T.Role, sender, { name: key, permissions: perms.toString(), position }, key)),
  fc.tuple(fc.constantFrom(...users), fc.constantFrom(...channels), fc.constantFrom(...roles, ALICE, MOD), bit, bit)
    .map(([sender, channel, target, allow, deny]) =>
      pdu(T.Overwrite, sender, { channel, target, kind: target.startsWith('@') ? 'member' : 'role', allow: allow.toString(), deny: deny.toString() }, `${channel}|${target}`)),
  fc.tuple(fc.constantFrom(...users), fc.constantFrom(...channels), fc.constantFrom(T.Message, T.Reaction, T.Pin, T.Edit, T.Redaction))
    .map(([sender, channel, type]) =>
      type === T.Pin
        ? pdu(type, sender, { channel, pinned: true }, '$m')
        : pdu(type, sender, { channel, body: 'x', target: '$m', emoji: '👍', redacts: '$m' })),
);

describe('auth events suffice', () => {
  it('authorizeEvent against the auth events alone equals authorizeEvent against full state', () => {
    let allowedCount = 0;
    fc.assert(
      fc.property(candidate, (p) => {
        const ids = new Set(authOf(p, s));
        const authState = stateFromEvents([...s.values()].filter((e: StoredEvent) => ids.has(e.event_id)));
        const full = authorizeEvent(p, s);
        if (full.ok) allowedCount++;
        expect(authorizeEvent(p, authState)).toEqual(full);
      }),
      { numRuns: 3000 },
    );
    expect(allowedCount).toBeGreaterThan(100); // the generator reaches allowed events too
  });
});
