// Rules 0-2 and 4-12 of spec/auth-rules.md (rule 3, membership, is in auth-member-rules.test.ts).
import fc from 'fast-check';
import { ChannelKind, EventType as T, EVERYONE_ROLE, type Pdu, type StoredEvent } from '../../src/events/event-types.js';
import { authorizeEvent, mayApplyEdit, mayRedact } from '../../src/events/auth-rules.js';
import { ALL_PERMISSIONS, Permission as P } from '../../src/events/permissions.js';
import type { StateMap } from '../../src/events/state-map.js';
import { ADMIN, ALICE, allowed, basicGuild, BOB, denied, EVE, guild, MOD, MOD_PERMS, OWNER, pdu, stored } from './auth-fixtures.js';

const msg = (sender: string, extra: Record<string, unknown> = {}) =>
  pdu(T.Message, sender, { channel: 'general', body: 'hello', ...extra });

describe('rule 1: create', () => {
  const create = (mut: (p: Pdu) => void = () => {}) => {
    const p = pdu(T.Create, OWNER, { creator: OWNER, room_version: '1', kind: 'guild' }, '');
    p.depth = 1;
    p.prev_events = [];
    mut(p);
    return p;
  };
  const empty: StateMap = new Map();

  it('allows a well-formed create on empty state', () => allowed(create(), empty));
  it('allows a dm naming its two participants (rule 15 has the rest)', () => allowed(create((p) => Object.assign(p.content, { kind: 'dm', participants: [p.sender, ALICE] })), empty));
  it.each<[string, (p: Pdu) => void]>([
    ['prev_events', (p) => (p.prev_events = ['$x'])],
    ['depth', (p) => (p.depth = 2)],
    ['state_key', (p) => (p.state_key = 'x')],
    ['creator', (p) => (p.content.creator = ALICE)],
    ['room_id', (p) => (p.room_id = '!guild:b.test')],
    ['room_version', (p) => (p.content.room_version = '2')],
    ['kind', (p) => (p.content.kind = 'forum')],
    ['origin', (p) => (p.origin = 'b.test')],
  ])('denies a bad %s', (_, mut) => denied(create(mut), empty));
  it('denies a create on non-empty state', () => denied(create(), basicGuild().view, /first/));
});

describe('rule 2: every other event', () => {
  it('denies without a create event, or with another room’s create', () => {
    denied(msg(OWNER), new Map(), /2.1/);
    const other = { ...msg(OWNER), room_id: '!other:a.test' };
    denied(other, basicGuild().view, /2.1/);
  });
  it('denies an origin speaking for another server’s user', () => {
    denied({ ...msg(ALICE), origin: 'a.test' }, guild().view, /own users/);
  });
  it('denies state_key on a non-state type and its absence on a state type', () => {
    denied({ ...msg(OWNER), state_key: '' }, basicGuild().view, /2.2/);
    const role = pdu(T.Role, OWNER, { name: 'x', permissions: '0', position: 1 });
    denied(role, basicGuild().view, /2.2/);
  });
  it('denies non-object content and unknown types without throwing', () => {
    denied({ ...msg(OWNER), content: [] as unknown as Record<string, unknown> }, basicGuild().view);
    denied({ ...msg(OWNER), content: null as unknown as Record<string, unknown> }, basicGuild().view);
    denied(pdu('nexus.unknown', OWNER, {}), basicGuild().view, /unknown event type/);
  });
  it('denies non-member events from users who are not joined', () => {
    denied(msg(EVE), guild().view, /2.4/);
    denied(msg(ALICE), guild().member(ALICE, 'leave').view, /2.4/);
  });
  it('accepts a StoredEvent as well as a bare PDU', () => allowed(stored(msg(ALICE)), guild().view));
});

describe('rule 4: settings', () => {
  const settings = (sender: string, content: Record<string, unknown> = { name: 'Nexus' }, sk = '') =>
    pdu(T.Settings, sender, content, sk);
  it('allows the owner and MANAGE_GUILD', () => {
    allowed(settings(OWNER), guild().view);
    allowed(settings(MOD, { name: 'Nexus', description: null, discoverable: true }), guild().view);
  });
  it('denies without MANAGE_GUILD', () => denied(settings(ALICE), guild().view, /MANAGE_GUILD/));
  it('denies bad content', () => {
    denied(settings(OWNER, { name: 'x' }), guild().view, /name/);
    denied(settings(OWNER, { name: 'Nexus', discoverable: 'yes' }), guild().view, /discoverable/);
    denied(settings(OWNER, { name: 'Nexus' }, 'x'), guild().view, /state_key/);
  });
});

describe('rule 5: channel', () => {
  const chan = (sender: string, key: string, content: Record<string, unknown>) =>
    pdu(T.Channel, sender, { name: key, kind: ChannelKind.Text, position: 1, ...content }, key);
  it('allows MANAGE_CHANNELS to create, and denies others', () => {
    allowed(chan(MOD, 'news', {}), guild().view);
    denied(chan(ALICE, 'news', {}), guild().view, /MANAGE_CHANNELS/);
  });
  it.each<[string, Record<string, unknown>, string]>([
    ['an empty name', { name: '' }, 'key'],
    ['a 101-character name', { name: 'x'.repeat(101) }, 'key'],
    ['an unknown kind', { kind: 3 }, 'key'],
    ['a negative position', { position: -1 }, 'key'],
    ['a fractional position', { position: 1.5 }, 'key'],
    ['a key with "|"', {}, 'a|b'],
    ['a missing parent', { parent: 'nope' }, 'key'],
    ['a text channel as parent', { parent: 'general' }, 'key'],
  ])('denies %s', (_, content, key) => denied(chan(OWNER, key, content), guild().view));
  it('allows a category parent, but no parent for a category', () => {
    const g = guild().channel('cat', ChannelKind.Category);
    allowed(chan(OWNER, 'news', { parent: 'cat' }), g.view);
    denied(chan(OWNER, 'cat2', { kind: ChannelKind.Category, parent: 'cat' }), g.view, /category has no parent/);
  });
  it('keeps a channel’s kind', () => denied(chan(OWNER, 'general', { kind: ChannelKind.Voice }), guild().view, /kind/));
  it('honours the channel’s overwrites when editing it', () => {
    const g = guild().overwrite('general', MOD, 0n, P.MANAGE_CHANNELS);
    denied(chan(MOD, 'general', { name: 'renamed' }), g.view, /MANAGE_CHANNELS/);
    allowed(chan(MOD, 'other', {}), g.view); // creating is guild-level
    allowed(chan(MOD, 'general', { name: 'general', deleted: true }), guild().view);
  });
});

describe('rule 6: role', () => {
  const role = (sender: string, key: string, perms: bigint, position: number, extra: Record<string, unknown> = {}) =>
    pdu(T.Role, sender, { name: key, permissions: perms.toString(), position, ...extra }, key);
  it('allows creating a role below your top role with permissions you hold', () =>
    allowed(role(MOD, 'helper', P.KICK_MEMBERS, 3), guild().view));
  it('denies without MANAGE_ROLES', () => denied(role(ALICE, 'helper', 0n, 1), guild().view, /MANAGE_ROLES/));
  it('denies a role at or above your top role', () => {
    denied(role(MOD, 'helper', 0n, 5), guild().view, /below/);
    denied(role(MOD, 'helper', 0n, 6), guild().view, /below/);
  });
  it('denies editing a role that sits above you, even moving it down', () =>
    denied(role(MOD, 'high', 0n, 3), guild().view, /at or above/));
  it('denies granting permissions you lack, but allows keeping them', () => {
    denied(role(MOD, 'helper', P.MANAGE_WEBHOOKS, 3), guild().view, /grant/);
    const g = guild().role('low', P.MANAGE_WEBHOOKS, 2);
    allowed(role(MOD, 'low', P.MANAGE_WEBHOOKS, 2, { name: 'renamed' }), g.view);
  });
  it('lets an ADMINISTRATOR grant anything below them, but not touch roles at or above them', () => {
    allowed(role(ADMIN, 'helper', ALL_PERMISSIONS, 3), guild().view);
    denied(role(ADMIN, 'mod', MOD_PERMS, 5), guild().view);
  });
  it('lets the owner do anything at any position', () => allowed(role(OWNER, 'top', ALL_PERMISSIONS, 100), guild().view));
  it('keeps @everyone at position 0 and undeletable; other roles above 0', () => {
    allowed(role(OWNER, EVERYONE_ROLE, 0n, 0), guild().view);
    denied(role(OWNER, EVERYONE_ROLE, 0n, 1), guild().view, /position 0/);
    denied(role(OWNER, EVERYONE_ROLE, 0n, 0, { deleted: true }), guild().view, /cannot be deleted/);
    denied(role(OWNER, 'x', 0n, 0), guild().view, /only @everyone/);
  });
  it('denies permission strings that do not parse', () => {
    denied(pdu(T.Role, OWNER, { name: 'x', permissions: '08', position: 1 }, 'x'), guild().view, /permissions/);
    denied(pdu(T.Role, OWNER, { name: 'x', permissions: (1n << 40n).toString(), position: 1 }, 'x'), guild().view);
    denied(pdu(T.Role, OWNER, { name: 'x', permissions: 8, position: 1 }, 'x'), guild().view);
  });
});

describe('rule 7: overwrite', () => {
  const ow = (sender: string, target: string, allow: bigint, deny: bigint, extra: Record<string, unknown> = {}) => {
    const kind = target.startsWith('@') ? 'member' : 'role';
    const c = { channel: 'general', target, kind, allow: allow.toString(), deny: deny.toString(), ...extra };
    return pdu(T.Overwrite, sender, c, `general|${target}`);
  };
  it('allows MANAGE_ROLES to allow/deny permissions it holds in the channel', () =>
    allowed(ow(MOD, EVERYONE_ROLE, 0n, P.SEND_MESSAGES), guild().view));
  it('denies permissions the sender lacks there', () =>
    denied(ow(MOD, EVERYONE_ROLE, P.MANAGE_WEBHOOKS, 0n), guild().view, /lacks/));
  it('denies without MANAGE_ROLES in the channel', () => {
    denied(ow(ALICE, EVERYONE_ROLE, 0n, P.SEND_MESSAGES), guild().view, /MANAGE_ROLES/);
    const g = guild().overwrite('general', MOD, 0n, P.MANAGE_ROLES);
    denied(ow(MOD, EVERYONE_ROLE, 0n, P.SEND_MESSAGES), g.view, /MANAGE_ROLES/);
  });
  it('judges only the bits that change', () => {
    const g = guild().overwrite('general', 'low', 0n, P.MANAGE_WEBHOOKS);
    allowed(ow(MOD, 'low', P.SEND_MESSAGES, P.MANAGE_WEBHOOKS), g.view);
    denied(ow(MOD, 'low', 0n, 0n, { deleted: true }), g.view, /lacks/);
  });
  it('lets an ADMINISTRATOR set anything', () => allowed(ow(ADMIN, ALICE, 0n, ALL_PERMISSIONS), guild().view));
  it.each<[string, Pdu]>([
    ['a missing channel', { ...ow(OWNER, EVERYONE_ROLE, 0n, 0n), content: { channel: 'nope', target: EVERYONE_ROLE, kind: 'role', allow: '0', deny: '0' }, state_key: 'nope|everyone' }],
    ['a mismatched state_key', { ...ow(OWNER, EVERYONE_ROLE, 0n, 0n), state_key: 'general|low' }],
    ['an unparsable allow', ow(OWNER, EVERYONE_ROLE, 0n, 0n, { allow: '1e3' })],
    ['a missing target role', ow(OWNER, 'ghost', 0n, 0n)],
    ['a kind that does not fit the target', ow(OWNER, 'low', 0n, 0n, { kind: 'member' })],
  ])('denies %s', (_, ev) => denied(ev, guild().view));
});

describe('rule 8: pin', () => {
  const pin = (sender: string, channel = 'general', key = '$msg') => pdu(T.Pin, sender, { channel, pinned: true }, key);
  it('allows MANAGE_MESSAGES in the channel', () => allowed(pin(MOD), guild().view));
  it('denies others, missing channels and bad keys', () => {
    denied(pin(ALICE), guild().view, /missing permissions/);
    denied(pin(MOD, 'nope'), guild().view, /text channel/);
    denied(pin(MOD, 'general', 'msg'), guild().view, /event id/);
  });
});

describe('rule 9: message', () => {
  it('allows a member to send in a text channel', () => allowed(msg(ALICE, { mentions: [BOB], reply_to: '$x' }), guild().view));
  it('measures the body in code points (4000 emoji fit, 4001 characters do not)', () => {
    allowed(msg(ALICE, { body: '😀'.repeat(4000) }), guild().view);
    denied(msg(ALICE, { body: 'x'.repeat(4001) }), guild().view, /body/);
    denied(msg(ALICE, { body: '' }), guild().view, /body/);
    denied(msg(ALICE, { body: 42 }), guild().view, /body/);
  });
  it('denies voice, deleted and missing channels', () => {
    const g = guild().channel('voice', ChannelKind.Voice).channel('old', ChannelKind.Text, { deleted: true });
    for (const channel of ['voice', 'old', 'nope']) denied(msg(ALICE, { channel }), g.view, /text channel/);
  });
  it('needs VIEW_CHANNEL and SEND_MESSAGES there', () => {
    denied(msg(ALICE), guild().overwrite('general', 'low', 0n, P.SEND_MESSAGES).view, /missing/);
    denied(msg(ALICE), guild().overwrite('general', EVERYONE_ROLE, 0n, P.VIEW_CHANNEL).view, /missing/);
  });
  it('needs MENTION_EVERYONE for mention_everyone and SEND_TTS_MESSAGES for tts', () => {
    const g = guild(P.VIEW_CHANNEL | P.SEND_MESSAGES);
    denied(msg(ALICE, { mention_everyone: true }), g.view, /MENTION_EVERYONE/);
    denied(msg(ALICE, { tts: true }), g.view, /TTS/);
    allowed(msg(ALICE, { mention_everyone: true, tts: true }), guild().view);
  });
  it('denies malformed mention lists', () => {
    denied(msg(ALICE, { mentions: 'bob' }), guild().view, /mentions/);
    denied(msg(ALICE, { mentions: ['bob'] }), guild().view, /mentions/);
    denied(msg(ALICE, { mention_roles: [1] }), guild().view, /mention_roles/);
  });
});

describe('rule 10: edit', () => {
  const edit = (sender: string, extra: Record<string, unknown> = {}) =>
    pdu(T.Edit, sender, { channel: 'general', target: '$m', body: 'fixed', ...extra });
  it('needs only VIEW_CHANNEL (you may fix a message after losing SEND_MESSAGES)', () => {
    allowed(edit(ALICE), guild().overwrite('general', 'low', 0n, P.SEND_MESSAGES).view);
    denied(edit(ALICE), guild().overwrite('general', 'low', 0n, P.VIEW_CHANNEL).view, /missing/);
  });
  it('denies bad content', () => {
    denied(edit(ALICE, { target: 'm' }), guild().view, /target/);
    denied(edit(ALICE, { body: '' }), guild().view, /body/);
  });
  it('mayApplyEdit: same sender, same channel, a message, the named target', () => {
    const target = stored(msg(ALICE));
    const ok = stored({ ...edit(ALICE), content: { channel: 'general', target: target.event_id, body: 'x' } });
    expect(mayApplyEdit(ok, target)).toBe(true);
    expect(mayApplyEdit(stored({ ...ok.pdu, sender: BOB }), target)).toBe(false);
    expect(mayApplyEdit(stored({ ...ok.pdu, content: { ...ok.pdu.content, channel: 'other' } }), target)).toBe(false);
    expect(mayApplyEdit(stored({ ...ok.pdu, content: { ...ok.pdu.content, target: '$other' } }), target)).toBe(false);
    const reaction = stored(pdu(T.Reaction, ALICE, { channel: 'general', target: '$m', emoji: '👍' }));
    expect(mayApplyEdit({ ...ok, pdu: { ...ok.pdu, content: { ...ok.pdu.content, target: reaction.event_id } } }, reaction)).toBe(false);
  });
});

describe('rule 11: reaction', () => {
  const react = (emoji: unknown) => pdu(T.Reaction, ALICE, { channel: 'general', target: '$m', emoji });
  it('allows a member with the defaults', () => allowed(react('👍'), guild().view));
  it('bounds the emoji', () => {
    denied(react(''), guild().view, /emoji/);
    denied(react('x'.repeat(65)), guild().view, /emoji/);
    allowed(react('x'.repeat(64)), guild().view);
  });
  it('needs ADD_REACTIONS and READ_MESSAGE_HISTORY', () => {
    denied(react('👍'), guild().overwrite('general', 'low', 0n, P.ADD_REACTIONS).view, /missing/);
    denied(react('👍'), guild().overwrite('general', 'low', 0n, P.READ_MESSAGE_HISTORY).view, /missing/);
  });
});

describe('rule 12: redaction', () => {
  const redact = (sender: string, redacts: unknown, extra: Record<string, unknown> = {}) =>
    pdu(T.Redaction, sender, { redacts, ...extra });
  it('allows a joined sender with a valid target id, denies others', () => {
    allowed(redact(ALICE, '$m'), guild().view);
    denied(redact(EVE, '$m'), guild().view, /not joined/);
    denied(redact(ALICE, 'm'), guild().view, /redacts/);
  });
  it('mayRedact: own events, or MANAGE_MESSAGES in the target’s channel', () => {
    const g = guild();
    const target = stored(msg(ALICE));
    const by = (sender: string, extra: Record<string, unknown> = {}) => stored(redact(sender, target.event_id, extra));
    expect(mayRedact(by(ALICE), target, g.view)).toBe(true);
    expect(mayRedact(by(BOB), target, g.view)).toBe(false);
    expect(mayRedact(by(MOD), target, g.view)).toBe(true);
    expect(mayRedact(by(MOD), target, guild().overwrite('general', MOD, 0n, P.MANAGE_MESSAGES).view)).toBe(false);
    expect(mayRedact(by(ALICE, { channel: 'other' }), target, g.view)).toBe(false);
    expect(mayRedact(stored(redact(ALICE, '$other')), target, g.view)).toBe(false);
    expect(mayRedact(by(ALICE), { ...target, pdu: { ...target.pdu, room_id: '!x:a.test' } }, g.view)).toBe(false);
    const reaction = stored(pdu(T.Reaction, ALICE, { channel: 'general', target: '$m', emoji: '👍' }));
    expect(mayRedact(stored(redact(ALICE, reaction.event_id)), reaction, g.view)).toBe(true);
    const stateEv = [...g.state.values()].find((e) => e.pdu.type === T.Channel)!;
    expect(mayRedact(stored(redact(OWNER, stateEv.event_id)), stateEv, g.view)).toBe(false);
  });
});

describe('malformed input never throws', () => {
  const state = guild().view;
  it('for arbitrary values as events', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const r = authorizeEvent(x as Pdu, state);
        return r.ok === false && !r.reason.startsWith('malformed event');
      }),
    );
  });

  it('for valid envelopes of every type with arbitrary content and state keys', () => {
    const types = Object.values(T);
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.dictionary(fc.constantFrom('channel', 'body', 'name', 'permissions', 'position', 'kind', 'membership', 'roles', 'nick', 'target', 'allow', 'deny', 'emoji', 'redacts', 'parent', 'authorised_by', 'deleted', 'creator', 'room_version'), fc.anything()),
        fc.option(fc.oneof(fc.string(), fc.constantFrom(ALICE, 'general', 'general|everyone', '$m', EVERYONE_ROLE)), { nil: undefined }),
        fc.constantFrom(OWNER, ALICE, MOD, EVE),
        (type, content, stateKey, sender) => {
          const r = authorizeEvent({ ...pdu(type, sender, content), state_key: stateKey }, state);
          // the rules themselves reject it: the catch-all safety net is never what answers
          return r.ok || !r.reason.startsWith('malformed event');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('mayRedact and mayApplyEdit return false on junk', () => {
    expect(mayRedact(null as unknown as StoredEvent, {} as StoredEvent, state)).toBe(false);
    expect(mayApplyEdit({ event_id: '$a', pdu: null } as unknown as StoredEvent, {} as StoredEvent)).toBe(false);
  });
});
