import { mayRedact } from '../../src/events/auth-rules.js';
import { ChannelKind, DM_CHANNEL, EventType, type StoredEvent } from '../../src/events/event-types.js';
import { basePermissions, channelPermissions, DM_PERMISSIONS, Permission } from '../../src/events/permissions.js';
import { applyInPlace, type StateMap } from '../../src/events/state-map.js';
import { ALICE, allowed, basicGuild, denied, EVE, OWNER, pdu, stored } from './auth-fixtures.js';

// Rule 15: a DM is a two-person room; nobody else gets in, nobody gets thrown out, and
// each participant holds only the text permissions.
const create = (content: Record<string, unknown>) => ({ ...pdu(EventType.Create, OWNER, { creator: OWNER, room_version: '1', kind: 'dm', ...content }, ''), prev_events: [], depth: 1 });
const join = (user: string) => pdu(EventType.Member, user, { membership: 'join' }, user);
const dmChannel = (sender = OWNER, extra: Record<string, unknown> = {}) => pdu(EventType.Channel, sender, { name: 'dm', kind: ChannelKind.DM, position: 0, ...extra }, DM_CHANNEL);
const message = (sender: string) => pdu(EventType.Message, sender, { channel: DM_CHANNEL, body: 'hi' });

function dm(opts: { channel?: boolean; aliceJoined?: boolean } = {}): StateMap {
  const state = new Map<string, StoredEvent>();
  for (const p of [create({ participants: [OWNER, ALICE] }), join(OWNER)]) applyInPlace(state, stored(p));
  if (opts.channel !== false) applyInPlace(state, stored(dmChannel()));
  if (opts.aliceJoined !== false) applyInPlace(state, stored(join(ALICE)));
  return state;
}

describe('rule 1 for DMs: the create event names both participants', () => {
  it('accepts the creator first and one other user', () => {
    allowed(create({ participants: [OWNER, ALICE] }), new Map());
  });
  it.each([
    ['no participants', {}],
    ['one participant', { participants: [OWNER] }],
    ['three participants', { participants: [OWNER, ALICE, EVE] }],
    ['the creator second', { participants: [ALICE, OWNER] }],
    ['the creator twice', { participants: [OWNER, OWNER] }],
    ['a non-user', { participants: [OWNER, 'alice'] }],
  ])('refuses %s', (_what, content) => {
    denied(create(content), new Map(), /^1: /);
  });
});

describe('rule 15: DM rooms', () => {
  it('lets each participant join only themselves, once', () => {
    allowed(join(ALICE), dm({ aliceJoined: false }));
    denied(join(EVE), dm(), /^15: only the two participants/);
    denied(pdu(EventType.Member, OWNER, { membership: 'join' }, ALICE), dm({ aliceJoined: false }), /^15: a participant joins only themselves/);
    denied(join(ALICE), dm(), /^15: already joined/);
    denied(pdu(EventType.Member, ALICE, { membership: 'join', roles: ['mod'] }, ALICE), dm({ aliceJoined: false }), /^(3|15)/);
  });

  it('lets a joined participant invite the other one, and nobody else', () => {
    allowed(pdu(EventType.Member, OWNER, { membership: 'invite' }, ALICE), dm({ aliceJoined: false }));
    denied(pdu(EventType.Member, OWNER, { membership: 'invite' }, ALICE), dm(), /^15: already joined or invited/);
    denied(pdu(EventType.Member, OWNER, { membership: 'invite' }, EVE), dm(), /^15: only the two/);
  });

  it('lets a participant leave, but never kick or ban the other', () => {
    allowed(pdu(EventType.Member, ALICE, { membership: 'leave' }, ALICE), dm());
    denied(pdu(EventType.Member, OWNER, { membership: 'leave' }, ALICE), dm(), /^15: a participant leaves only themselves/);
    denied(pdu(EventType.Member, OWNER, { membership: 'ban' }, ALICE), dm(), /^15: a DM has no bans/);
  });

  it('has exactly one channel, of kind DM, made by the creator', () => {
    allowed(dmChannel(), dm({ channel: false }));
    denied(dmChannel(), dm(), /^15: the DM channel already exists/);
    denied(dmChannel(ALICE), dm({ channel: false }), /^15: only the DM's creator/);
    denied(pdu(EventType.Channel, OWNER, { name: 'x', kind: ChannelKind.Text, position: 0 }, 'general'), dm({ channel: false }), /^15: a DM's one channel/);
    denied(dmChannel(OWNER, { parent: 'cat' }), dm({ channel: false }), /^15/);
  });

  it('refuses guild events', () => {
    const everyone = pdu(EventType.Role, OWNER, { name: 'everyone', permissions: '8', position: 0 }, 'everyone');
    denied(everyone, dm(), /^15: nexus.guild.role does not belong in a DM/);
    denied(pdu(EventType.Settings, OWNER, { name: 'my dm' }, ''), dm(), /^15/);
    denied(pdu(EventType.Pin, OWNER, { channel: DM_CHANNEL, pinned: true }, '$m'), dm(), /^15/);
  });

  it('lets both participants write, and gives them only the DM permissions', () => {
    allowed(message(OWNER), dm());
    allowed(message(ALICE), dm());
    denied(message(EVE), dm(), /^2\.4/);
    denied(message(ALICE), dm({ aliceJoined: false }), /^2\.4/);
    denied({ ...message(OWNER), content: { channel: DM_CHANNEL, body: 'hi', mention_everyone: true } }, dm(), /^9: mention_everyone/);
    // The creator is no owner here: no ADMINISTRATOR, no MANAGE_MESSAGES.
    expect(basePermissions(dm(), OWNER)).toBe(DM_PERMISSIONS);
    expect(channelPermissions(dm(), ALICE, DM_CHANNEL)).toBe(DM_PERMISSIONS);
    expect(basePermissions(dm(), EVE)).toBe(0n);
  });

  it('lets a participant redact only their own messages', () => {
    const state = dm();
    const theirs: StoredEvent = stored(message(ALICE));
    const redaction = (sender: string) => stored(pdu(EventType.Redaction, sender, { redacts: theirs.event_id, channel: DM_CHANNEL }));
    expect(mayRedact(redaction(ALICE), theirs, state)).toBe(true);
    expect(mayRedact(redaction(OWNER), theirs, state)).toBe(false);
    expect(DM_PERMISSIONS & Permission.MANAGE_MESSAGES).toBe(0n);
  });

  it('refuses a DM channel in a guild', () => {
    denied(pdu(EventType.Channel, OWNER, { name: 'x', kind: ChannelKind.DM, position: 0 }, 'x'), basicGuild().state, /^5: only a DM has a DM channel/);
  });
});
