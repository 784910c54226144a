import fc from 'fast-check';
import { selectAuthEvents } from '../../src/events/auth-events.js';
import { EventType } from '../../src/events/event-types.js';
import { applyInPlace } from '../../src/events/state-map.js';
import { aclAllows, aclHost, aclPatternMatches } from '../../src/events/server-acl.js';
import { ALICE, allowed, denied, EVE, guild, OWNER, pdu, stored } from './auth-fixtures.js';

describe('server ACL patterns', () => {
  it('match hosts by glob, case-insensitively, ignoring ports', () => {
    expect(aclHost('B.Test:8448')).toBe('b.test');
    expect(aclHost('[::1]:8448')).toBe('::1');
    expect(aclPatternMatches('*.evil.example', 'mail.evil.example')).toBe(true);
    expect(aclPatternMatches('*.evil.example', 'evil.example')).toBe(false);
    expect(aclPatternMatches('b.tes?', 'b.test')).toBe(true);
    expect(aclPatternMatches('b.test', 'bxtest')).toBe(false); // a dot is a dot, not "any character"
    expect(aclAllows({ allow: ['*'], deny: ['c.test'] }, 'c.test:443')).toBe(false);
    expect(aclAllows({ allow: ['a.test'], deny: [] }, 'b.test')).toBe(false);
  });

  it('treat every other character literally', () => {
    fc.assert(fc.property(fc.string({ maxLength: 20 }).filter((s) => !/[*?]/.test(s)), (s) => aclPatternMatches(s, s.toLowerCase())));
  });
});

describe('rule 2.5 and rule 14: the guild server ACL', () => {
  const acl = (sender: string, content: Record<string, unknown>) => pdu(EventType.ServerAcl, sender, content, '');

  it('lets the owner set an ACL, not a member without MANAGE_GUILD, and never one that denies its own server', () => {
    const g = guild();
    allowed(acl(OWNER, { allow: ['*'], deny: ['c.test'] }), g.state);
    denied(acl(ALICE, { allow: ['*'], deny: ['c.test'] }), g.state, /^14: needs MANAGE_GUILD/);
    denied(acl(OWNER, { allow: ['*'], deny: ['a.test'] }), g.state, /^14: a server ACL may not deny/);
    denied(acl(OWNER, { allow: '*', deny: [] }), g.state, /^2\.3/);
  });

  it('refuses every event from a denied server, and counts the ACL among every auth event set', () => {
    const g = guild().member(EVE, 'join');
    allowed(pdu(EventType.Message, EVE, { channel: 'general', body: 'hi' }), g.state); // before the ACL
    const ev = stored(acl(OWNER, { allow: ['*'], deny: ['c.test'] }));
    applyInPlace(g.state, ev);
    denied(pdu(EventType.Message, EVE, { channel: 'general', body: 'hi' }), g.state, /^2\.5: the guild's server ACL denies c\.test/);
    denied(pdu(EventType.Member, EVE, { membership: 'leave' }, EVE), g.state, /^2\.5/);
    expect(selectAuthEvents(EventType.Message, undefined, ALICE, { channel: 'general', body: 'x' }, g.state)).toContain(ev.event_id);
    allowed(pdu(EventType.Message, ALICE, { channel: 'general', body: 'still here' }), g.state);
  });
});
