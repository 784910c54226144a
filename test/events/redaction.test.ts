import { EventType } from '../../src/events/event-types.js';
import type { Pdu } from '../../src/events/event-types.js';
import { withContentHash } from '../../src/events/hashes.js';
import { REDACTION_KEEPS, REDACTION_TOP_LEVEL_KEEPS, redactContent, redactPdu } from '../../src/events/redaction.js';
import { signPdu } from '../../src/events/signing.js';
import { SERVER, sampleMember, sampleMessage, testKey } from './crypto-fixtures.js';

describe('redaction', () => {
  it('has a keep list for every event type, and the documented one', () => {
    expect(Object.keys(REDACTION_KEEPS).sort()).toEqual(Object.values(EventType).sort());
    expect(REDACTION_KEEPS).toEqual({
      'nexus.account.read_state': ['room', 'channel', 'event'],
      'nexus.guild.create': ['creator', 'room_version', 'kind', 'participants'],
      'nexus.guild.server_acl': ['allow', 'deny'],
      'nexus.guild.settings': [],
      'nexus.guild.channel': ['kind', 'deleted'],
      'nexus.guild.role': ['permissions', 'position', 'deleted'],
      'nexus.guild.member': ['membership', 'roles', 'authorised_by'],
      'nexus.guild.overwrite': ['channel', 'target', 'kind', 'allow', 'deny', 'deleted'],
      'nexus.guild.pin': ['channel', 'pinned'],
      'nexus.message': ['channel'],
      'nexus.message.edit': ['channel', 'target'],
      'nexus.reaction': ['channel', 'target'],
      'nexus.redaction': ['redacts', 'channel'],
    });
  });

  it('keeps exactly the listed top-level keys', () => {
    const signed = signPdu(withContentHash(sampleMember()), SERVER, testKey());
    const full = { ...signed, unsigned: { age: 1 }, event_id: '$x', junk: true } as unknown as Pdu;
    const r = redactPdu(full);
    expect(Object.keys(r).sort()).toEqual([...REDACTION_TOP_LEVEL_KEEPS].sort());
  });

  it('omits absent optional keys rather than inventing them', () => {
    const r = redactPdu(signPdu(withContentHash(sampleMessage()), SERVER, testKey()));
    expect('state_key' in r).toBe(false);
    expect(r.content).toEqual({ channel: 'c1' });
  });

  it('keeps exactly the listed content keys for each type (and only those present)', () => {
    for (const [type, keeps] of Object.entries(REDACTION_KEEPS)) {
      const content: Record<string, unknown> = { extra: 1, body: 'x', name: 'n', reason: 'r' };
      for (const k of keeps) content[k] = `v-${k}`;
      const out = redactContent(type, content);
      expect(Object.keys(out).sort()).toEqual([...keeps].sort());
      for (const k of keeps) expect(out[k]).toBe(`v-${k}`);
      expect(redactContent(type, {})).toEqual({});
    }
  });

  it('member: drops nick and reason, keeps membership, roles, authorised_by', () => {
    const c = { membership: 'join', roles: ['a'], nick: 'n', reason: 'r', authorised_by: '@x:y' };
    expect(redactContent(EventType.Member, c)).toEqual({ membership: 'join', roles: ['a'], authorised_by: '@x:y' });
  });

  it('settings, unknown types and malformed content redact to {}', () => {
    expect(redactContent(EventType.Settings, { name: 'Guild', discoverable: true })).toEqual({});
    expect(redactContent('org.example.unknown', { a: 1 })).toEqual({});
    expect(redactContent('toString', { a: 1 })).toEqual({}); // no prototype lookups
    expect(redactContent(EventType.Message, ['channel'])).toEqual({});
    expect(redactContent(EventType.Message, null)).toEqual({});
  });

  it('is pure and idempotent', () => {
    const signed = signPdu(withContentHash(sampleMember()), SERVER, testKey());
    const copy = structuredClone(signed);
    const once = redactPdu(signed);
    expect(signed).toEqual(copy);
    expect(redactPdu(once)).toEqual(once);
  });
});
