// Rule 3 of spec/auth-rules.md: membership and member updates.
import { EventType as T } from '../../src/events/event-types.js';
import { Permission as P, DEFAULT_EVERYONE_PERMISSIONS } from '../../src/events/permissions.js';
import {
  ADMIN,
  ALICE,
  allowed,
  BOB,
  denied,
  EVE,
  guild,
  GuildBuilder,
  MOD,
  OWNER,
  pdu,
} from './auth-fixtures.js';

const member = (sender: string, target: string, content: Record<string, unknown>) =>
  pdu(T.Member, sender, content, target);
const join = (user: string, extra: Record<string, unknown> = {}) => member(user, user, { membership: 'join', ...extra });

describe('rule 3.1: join', () => {
  it('allows the owner’s founding join, and the owner’s rejoin after leaving', () => {
    allowed(join(OWNER), new GuildBuilder().create().view);
    allowed(join(OWNER), guild().member(OWNER, 'leave').view);
  });
  it('denies a stranger without invite or authoriser', () => denied(join(EVE), guild().view, /no invite/));
  it('allows an invited user', () => allowed(join(EVE), guild().member(EVE, 'invite').view));
  it('denies a banned user, even with an authoriser', () => {
    const g = guild().member(EVE, 'ban');
    denied(join(EVE), g.view, /banned/);
    denied(join(EVE, { authorised_by: ALICE }), g.view, /banned/);
  });
  it('denies joining on behalf of someone else', () =>
    denied(member(ALICE, EVE, { membership: 'join' }), guild().member(EVE, 'invite').view, /themselves/));
  it('denies roles on a join from outside', () =>
    denied(join(EVE, { roles: ['low'] }), guild().member(EVE, 'invite').view, /roles/));

  describe('through authorised_by (an invite code)', () => {
    const withSig = (server: string) => {
      const p = join(EVE, { authorised_by: ALICE });
      p.signatures[server] = { 'ed25519:1': 'sig' };
      return p;
    };
    it('allows a join vouched for by a joined member who may invite, co-signed by their server', () =>
      allowed(withSig('b.test'), guild().view));
    it('denies without the authoriser server’s signature (or with an empty one)', () => {
      denied(join(EVE, { authorised_by: ALICE }), guild().view, /signed/);
      const p = join(EVE, { authorised_by: ALICE });
      p.signatures['b.test'] = {};
      denied(p, guild().view, /signed/);
    });
    it('denies an authoriser who is not joined or may not invite', () => {
      denied(withSig('b.test'), guild().member(ALICE, 'leave').view, /not joined/);
      denied(withSig('b.test'), guild(DEFAULT_EVERYONE_PERMISSIONS & ~P.CREATE_INSTANT_INVITE).view, /CREATE_INSTANT_INVITE/);
    });
    it('denies a malformed authorised_by', () => denied(join(EVE, { authorised_by: 'alice' }), guild().view, /authorised_by/));
  });
});

describe('rule 3.2: leave, kick, revoke, unban', () => {
  const leave = (sender: string, target: string) => member(sender, target, { membership: 'leave' });
  it('lets a member or invitee leave, but not someone who is not there', () => {
    allowed(leave(ALICE, ALICE), guild().view);
    allowed(leave(EVE, EVE), guild().member(EVE, 'invite').view);
    denied(leave(EVE, EVE), guild().view, /not joined/);
    denied(leave(EVE, EVE), guild().member(EVE, 'leave').view, /not joined/);
  });
  it('allows a kick with KICK_MEMBERS by someone who outranks the target', () => allowed(leave(MOD, ALICE), guild().view));
  it('denies a kick of equal rank, without KICK_MEMBERS, of the owner, of a non-member', () => {
    const g = guild().member(ALICE, 'join', ['mod']);
    denied(leave(MOD, ALICE), g.view, /outrank/);
    denied(leave(BOB, ALICE), guild().view, /KICK_MEMBERS/);
    denied(leave(ADMIN, OWNER), guild().view, /owner/);
    denied(leave(MOD, EVE), guild().view, /not a member/);
  });
  it('unban needs BAN_MEMBERS; revoking an invite needs KICK_MEMBERS', () => {
    const g = guild().member(EVE, 'ban');
    allowed(leave(MOD, EVE), g.view);
    denied(leave(ALICE, EVE), g.view, /BAN_MEMBERS/);
    const i = guild().member(EVE, 'invite');
    allowed(leave(MOD, EVE), i.view);
    denied(leave(ALICE, EVE), i.view, /KICK_MEMBERS/);
  });
  it('denies a kick by someone not joined', () => denied(leave(EVE, ALICE), guild().view, /not joined/));
});

describe('rule 3.3: ban', () => {
  const ban = (sender: string, target: string, extra: Record<string, unknown> = {}) =>
    member(sender, target, { membership: 'ban', ...extra });
  it('allows BAN_MEMBERS on a lower member, and on someone never seen', () => {
    allowed(ban(MOD, ALICE, { reason: 'spam' }), guild().view);
    allowed(ban(MOD, EVE), guild().view);
  });
  it('denies banning yourself, the owner, an equal, without BAN_MEMBERS, twice, or with roles', () => {
    denied(ban(MOD, MOD), guild().view, /yourself/);
    denied(ban(ADMIN, OWNER), guild().view, /owner/);
    denied(ban(MOD, ALICE), guild().member(ALICE, 'join', ['mod']).view, /outrank/);
    denied(ban(ALICE, BOB), guild().view, /BAN_MEMBERS/);
    denied(ban(MOD, EVE), guild().member(EVE, 'ban').view, /already/);
    denied(ban(MOD, EVE, { roles: ['low'] }), guild().view, /roles/);
  });
  it('lets an ADMINISTRATOR ban only those below them', () => {
    allowed(ban(ADMIN, ALICE), guild().view);
    denied(ban(ADMIN, MOD), guild().view, /outrank/);
  });
});

describe('rule 3.4: invite', () => {
  const invite = (sender: string, target: string) => member(sender, target, { membership: 'invite' });
  it('allows a member with CREATE_INSTANT_INVITE to invite an outsider', () => allowed(invite(ALICE, EVE), guild().view));
  it('denies inviting members or banned users, without the permission, or by outsiders', () => {
    denied(invite(ALICE, BOB), guild().view, /already joined/);
    denied(invite(ALICE, EVE), guild().member(EVE, 'ban').view, /banned/);
    denied(invite(ALICE, EVE), guild(P.VIEW_CHANNEL).view, /CREATE_INSTANT_INVITE/);
    denied(invite(EVE, '@zed:c.test'), guild().view, /not joined/);
  });
});

describe('rule 3.5: member updates (join → join)', () => {
  const update = (sender: string, target: string, content: Record<string, unknown>) =>
    member(sender, target, { membership: 'join', ...content });

  it('allows MANAGE_ROLES to add and remove roles strictly below its top role', () => {
    allowed(update(MOD, ALICE, { roles: [] }), guild().view);
    allowed(update(MOD, EVE, { roles: ['low'] }), guild().member(EVE).view);
    allowed(update(MOD, MOD, { roles: ['mod', 'low'] }), guild().view);
  });
  it('denies roles at or above the top role, unknown roles, and no MANAGE_ROLES', () => {
    denied(update(MOD, ALICE, { roles: ['low', 'mod'] }), guild().view, /not below/);
    denied(update(MOD, ALICE, { roles: ['low', 'high'] }), guild().view, /not below/);
    denied(update(MOD, OWNER, { roles: [] }), guild().member(OWNER, 'join', ['high']).view, /not below/);
    denied(update(MOD, ALICE, { roles: ['low', 'ghost'] }), guild().view, /does not exist/);
    denied(update(ALICE, BOB, { roles: [] }), guild().view, /MANAGE_ROLES/);
  });
  it('keeps ADMINISTRATOR inside the hierarchy; only the owner is above it', () => {
    denied(update(ADMIN, ALICE, { roles: ['low', 'mod'] }), guild().view, /not below/);
    allowed(update(OWNER, ALICE, { roles: ['low', 'high'] }), guild().view);
  });
  it('lets anyone remove a role that was deleted', () => {
    const g = guild().role('high', 0n, 8, { deleted: true }).member(ALICE, 'join', ['low', 'high']);
    allowed(update(MOD, ALICE, { roles: ['low'] }), g.view);
  });
  it('denies malformed role lists', () => {
    denied(update(OWNER, ALICE, { roles: ['low', 'low'] }), guild().view, /repeat/);
    denied(update(OWNER, ALICE, { roles: ['everyone'] }), guild().view, /everyone/);
    denied(update(OWNER, ALICE, { roles: 'low' }), guild().view, /roles/);
  });
  it('own nick needs CHANGE_NICKNAME', () => {
    allowed(update(ALICE, ALICE, { roles: ['low'], nick: 'Al' }), guild().view);
    denied(update(ALICE, ALICE, { roles: ['low'], nick: 'Al' }), guild(P.VIEW_CHANNEL).view, /CHANGE_NICKNAME/);
    denied(update(ALICE, ALICE, { roles: ['low'], nick: 'x'.repeat(33) }), guild().view, /nick/);
  });
  it('another’s nick needs MANAGE_NICKNAMES and outranking', () => {
    allowed(update(MOD, ALICE, { roles: ['low'], nick: 'Al' }), guild().view);
    denied(update(BOB, ALICE, { roles: ['low'], nick: 'Al' }), guild().view, /MANAGE_NICKNAMES/);
    denied(update(MOD, ALICE, { roles: ['mod'], nick: 'Al' }), guild().member(ALICE, 'join', ['mod']).view, /outrank/);
    denied(update(ADMIN, OWNER, { nick: 'boss' }), guild().view, /outrank/);
  });
  it('a self re-join without changes is a no-op; the same by someone else is denied', () => {
    allowed(update(ALICE, ALICE, { roles: ['low'] }), guild().view);
    denied(update(MOD, ALICE, { roles: ['low'] }), guild().view, /nothing changes/);
  });
  it('denies updates by someone not joined', () =>
    denied(update(EVE, ALICE, { roles: [] }), guild().view, /not joined/));
  it('denies a bad membership or state_key', () => {
    denied(member(ALICE, ALICE, { membership: 'knock' }), guild().view, /membership/);
    denied(member(ALICE, 'alice', { membership: 'leave' }), guild().view, /user id/);
  });
});
