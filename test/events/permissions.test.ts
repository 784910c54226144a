import fc from 'fast-check';
import { ChannelKind, EVERYONE_ROLE } from '../../src/events/event-types.js';
import {
  ALL_PERMISSIONS,
  basePermissions,
  channelPermissions,
  DEFAULT_EVERYONE_PERMISSIONS,
  formatPermissions,
  has,
  outranks,
  parsePermissionString,
  Permission as P,
  permissionNames,
  sanitizePermissionInput,
  topRolePosition,
} from '../../src/events/permissions.js';
import { basicGuild, GuildBuilder, OWNER } from './auth-fixtures.js';

const ALICE = '@alice:a.test';
const BOB = '@bob:b.test';

describe('permission bits', () => {
  it('match Discord values', () => {
    expect(P.CREATE_INSTANT_INVITE).toBe(0x1n);
    expect(P.ADMINISTRATOR).toBe(0x8n);
    expect(P.VIEW_CHANNEL).toBe(0x400n);
    expect(P.SEND_MESSAGES).toBe(0x800n);
    expect(P.MENTION_EVERYONE).toBe(0x20000n);
    expect(P.MANAGE_ROLES).toBe(0x10000000n);
    expect(P.MANAGE_GUILD_EXPRESSIONS).toBe(0x40000000n);
    expect(ALL_PERMISSIONS).toBe((1n << 31n) - 1n);
  });

  it('gives @everyone the documented defaults and nothing administrative', () => {
    expect(permissionNames(DEFAULT_EVERYONE_PERMISSIONS).sort()).toEqual(
      [
        'VIEW_CHANNEL', 'SEND_MESSAGES', 'READ_MESSAGE_HISTORY', 'ADD_REACTIONS', 'CREATE_INSTANT_INVITE',
        'EMBED_LINKS', 'ATTACH_FILES', 'MENTION_EVERYONE', 'USE_EXTERNAL_EMOJIS', 'CONNECT', 'SPEAK', 'USE_VAD',
        'CHANGE_NICKNAME', 'SEND_TTS_MESSAGES',
      ].sort(),
    );
  });
});

describe('parsePermissionString', () => {
  it.each([
    ['0', 0n],
    ['8', 8n],
    [(ALL_PERMISSIONS).toString(), ALL_PERMISSIONS],
  ])('accepts %s', (s, v) => expect(parsePermissionString(s)).toBe(v));

  it.each([['08'], ['-1'], ['1.5'], [' 8'], ['0x8'], [''], ['2147483648'], ['1'.repeat(30)], [8], [null], [{}]])(
    'rejects %p',
    (s) => expect(parsePermissionString(s)).toBeNull(),
  );

  it('round-trips with formatPermissions', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: ALL_PERMISSIONS }), (v) => parsePermissionString(formatPermissions(v)) === v));
  });

  it('sanitizePermissionInput keeps known bits of client input and rejects junk', () => {
    expect(sanitizePermissionInput(((1n << 40n) | 8n).toString())).toBe(8n);
    expect(sanitizePermissionInput(2048)).toBe(2048n);
    expect(sanitizePermissionInput((1n << 64n).toString())).toBeNull();
    expect(sanitizePermissionInput('abc')).toBeNull();
  });
});

describe('basePermissions', () => {
  it('is 0 for strangers and for members who left', () => {
    const g = basicGuild().member(ALICE, 'leave');
    expect(basePermissions(g.view, BOB)).toBe(0n);
    expect(basePermissions(g.view, ALICE)).toBe(0n);
  });

  it('is @everyone OR each live role; deleted roles count for nothing', () => {
    const g = basicGuild(P.VIEW_CHANNEL)
      .role('mod', P.KICK_MEMBERS, 2)
      .role('gone', P.BAN_MEMBERS, 3, { deleted: true })
      .member(ALICE, 'join', ['mod', 'gone', 'missing']);
    expect(basePermissions(g.view, ALICE)).toBe(P.VIEW_CHANNEL | P.KICK_MEMBERS);
  });

  it('turns ADMINISTRATOR into everything, and the owner has everything', () => {
    const g = basicGuild(0n).role('admin', P.ADMINISTRATOR, 1).member(ALICE, 'join', ['admin']);
    expect(basePermissions(g.view, ALICE)).toBe(ALL_PERMISSIONS);
    expect(basePermissions(g.view, OWNER)).toBe(ALL_PERMISSIONS);
  });

  it('gives an owner who left nothing until they rejoin', () => {
    const g = basicGuild().member(OWNER, 'leave');
    expect(basePermissions(g.view, OWNER)).toBe(0n);
  });
});

describe('channelPermissions: Discord overwrite order', () => {
  const D = P.VIEW_CHANNEL | P.SEND_MESSAGES;
  // given @everyone = view+send, a role "r" at 1, alice holding it
  const guild = () => basicGuild(D | P.ADD_REACTIONS).role('r', 0n, 1).role('s', 0n, 2).member(ALICE, 'join', ['r', 's']);

  it('is 0 in a channel that does not exist or was deleted', () => {
    const g = guild().channel('old', ChannelKind.Text, { deleted: true });
    expect(channelPermissions(g.view, ALICE, 'nope')).toBe(0n);
    expect(channelPermissions(g.view, OWNER, 'old')).toBe(0n);
  });

  it('without overwrites equals the base permissions', () => {
    const g = guild();
    expect(channelPermissions(g.view, ALICE, 'general')).toBe(basePermissions(g.view, ALICE));
  });

  it('@everyone overwrite deny removes a base permission', () => {
    const g = guild().overwrite('general', EVERYONE_ROLE, 0n, P.ADD_REACTIONS);
    expect(has(channelPermissions(g.view, ALICE, 'general'), P.ADD_REACTIONS)).toBe(false);
  });

  it('a role allow beats an @everyone deny', () => {
    const g = guild().overwrite('general', EVERYONE_ROLE, 0n, P.ADD_REACTIONS).overwrite('general', 'r', P.ADD_REACTIONS, 0n);
    expect(has(channelPermissions(g.view, ALICE, 'general'), P.ADD_REACTIONS)).toBe(true);
  });

  it('a role deny beats an @everyone allow', () => {
    const g = guild().overwrite('general', EVERYONE_ROLE, P.ATTACH_FILES, 0n).overwrite('general', 'r', 0n, P.ATTACH_FILES);
    expect(has(channelPermissions(g.view, ALICE, 'general'), P.ATTACH_FILES)).toBe(false);
  });

  it('among roles, any allow beats any deny (deny all, then allow all)', () => {
    const g = guild().overwrite('general', 'r', 0n, P.ADD_REACTIONS).overwrite('general', 's', P.ADD_REACTIONS, 0n);
    expect(has(channelPermissions(g.view, ALICE, 'general'), P.ADD_REACTIONS)).toBe(true);
  });

  it('a member allow beats a role deny, and a member deny beats a role allow', () => {
    const g = guild()
      .overwrite('general', 'r', P.MANAGE_MESSAGES, P.ADD_REACTIONS)
      .overwrite('general', ALICE, P.ADD_REACTIONS, P.MANAGE_MESSAGES);
    const perms = channelPermissions(g.view, ALICE, 'general');
    expect(has(perms, P.ADD_REACTIONS)).toBe(true);
    expect(has(perms, P.MANAGE_MESSAGES)).toBe(false);
  });

  it('ignores deleted overwrites and overwrites of deleted roles', () => {
    const g = guild()
      .overwrite('general', EVERYONE_ROLE, 0n, P.ADD_REACTIONS, { deleted: true })
      .role('s', 0n, 2, { deleted: true })
      .overwrite('general', 's', 0n, P.SEND_MESSAGES);
    const perms = channelPermissions(g.view, ALICE, 'general');
    expect(has(perms, P.ADD_REACTIONS | P.SEND_MESSAGES)).toBe(true);
  });

  it('implicitly denies everything without VIEW_CHANNEL', () => {
    const g = guild().overwrite('general', EVERYONE_ROLE, 0n, P.VIEW_CHANNEL);
    expect(channelPermissions(g.view, ALICE, 'general')).toBe(0n);
  });

  it('implicitly denies mention-everyone, TTS, attach and embed without SEND_MESSAGES', () => {
    const g = guild().overwrite('general', ALICE, P.MENTION_EVERYONE | P.ATTACH_FILES | P.EMBED_LINKS | P.SEND_TTS_MESSAGES, P.SEND_MESSAGES);
    const perms = channelPermissions(g.view, ALICE, 'general');
    expect(perms).toBe(P.VIEW_CHANNEL | P.ADD_REACTIONS);
  });

  it('lets ADMINISTRATOR and the owner bypass every overwrite', () => {
    const g = guild()
      .role('admin', P.ADMINISTRATOR, 3)
      .member(BOB, 'join', ['admin'])
      .overwrite('general', EVERYONE_ROLE, 0n, ALL_PERMISSIONS)
      .overwrite('general', BOB, 0n, ALL_PERMISSIONS)
      .overwrite('general', OWNER, 0n, ALL_PERMISSIONS);
    expect(channelPermissions(g.view, BOB, 'general')).toBe(ALL_PERMISSIONS);
    expect(channelPermissions(g.view, OWNER, 'general')).toBe(ALL_PERMISSIONS);
  });

  it('never lets an overwrite grant ADMINISTRATOR, nor admit a non-member', () => {
    const g = guild().overwrite('general', ALICE, P.ADMINISTRATOR, 0n).overwrite('general', BOB, P.VIEW_CHANNEL, 0n);
    expect(has(channelPermissions(g.view, ALICE, 'general'), P.ADMINISTRATOR)).toBe(false);
    expect(channelPermissions(g.view, BOB, 'general')).toBe(0n);
  });
});

describe('hierarchy', () => {
  const g = basicGuild()
    .role('high', 0n, 5)
    .role('low', 0n, 2)
    .role('gone', 0n, 9, { deleted: true })
    .member(ALICE, 'join', ['low', 'high', 'gone'])
    .member(BOB, 'join', ['low']);

  it('topRolePosition is the highest live role; 0 with none; +Infinity for the owner', () => {
    expect(topRolePosition(g.view, ALICE)).toBe(5);
    expect(topRolePosition(g.view, BOB)).toBe(2);
    expect(topRolePosition(g.view, '@nobody:a.test')).toBe(0);
    expect(topRolePosition(g.view, OWNER)).toBe(Number.POSITIVE_INFINITY);
  });

  it('outranks is strict', () => {
    expect(outranks(g.view, ALICE, BOB)).toBe(true);
    expect(outranks(g.view, BOB, ALICE)).toBe(false);
    expect(outranks(g.view, BOB, BOB)).toBe(false);
    expect(outranks(g.view, OWNER, ALICE)).toBe(true);
    expect(outranks(g.view, ALICE, OWNER)).toBe(false);
  });
});

// ---- properties over random role/overwrite configurations ----------------------------

const bits = fc.bigInt({ min: 0n, max: ALL_PERMISSIONS });
const roleKeys = ['r1', 'r2', 'r3'];
const config = fc.record({
  everyone: bits,
  roles: fc.tuple(bits, bits, bits),
  held: fc.subarray(roleKeys),
  overwrites: fc.array(
    fc.record({ target: fc.constantFrom(EVERYONE_ROLE, ...roleKeys, ALICE, OWNER), allow: bits, deny: bits }),
    { maxLength: 6 },
  ),
});
type Config = typeof config extends fc.Arbitrary<infer T> ? T : never;

function build(c: Config, aliceRoles: string[] = c.held): GuildBuilder {
  const g = new GuildBuilder().create().member(OWNER).role(EVERYONE_ROLE, c.everyone, 0).channel('general');
  roleKeys.forEach((k, i) => g.role(k, c.roles[i], i + 1));
  g.member(ALICE, 'join', aliceRoles);
  for (const o of c.overwrites) g.overwrite('general', o.target, o.allow, o.deny);
  return g;
}

describe('permission properties', () => {
  it('the owner always has everything in every channel', () => {
    fc.assert(fc.property(config, (c) => channelPermissions(build(c).view, OWNER, 'general') === ALL_PERMISSIONS));
  });

  it('a member holding an ADMINISTRATOR role always has everything in every channel', () => {
    fc.assert(
      fc.property(config, (c) => {
        const g = build(c).role('admin', P.ADMINISTRATOR, 7).member(ALICE, 'join', [...c.held, 'admin']);
        return channelPermissions(g.view, ALICE, 'general') === ALL_PERMISSIONS;
      }),
    );
  });

  it('is within ALL, is 0 without VIEW_CHANNEL, and never grants ADMINISTRATOR without base ADMINISTRATOR', () => {
    fc.assert(
      fc.property(config, (c) => {
        const g = build(c);
        const perms = channelPermissions(g.view, ALICE, 'general');
        const base = basePermissions(g.view, ALICE);
        expect(perms & ~ALL_PERMISSIONS).toBe(0n);
        if (!has(perms, P.VIEW_CHANNEL)) expect(perms).toBe(0n);
        if (!has(base, P.ADMINISTRATOR)) expect(has(perms, P.ADMINISTRATOR)).toBe(false);
      }),
    );
  });

  it('does not depend on the order of the member roles list', () => {
    fc.assert(
      fc.property(config, (c) => {
        const a = channelPermissions(build(c).view, ALICE, 'general');
        const b = channelPermissions(build(c, [...c.held].reverse()).view, ALICE, 'general');
        return a === b;
      }),
    );
  });

  it('adding an allow-only member overwrite never takes a permission away', () => {
    fc.assert(
      fc.property(config, bits, (c, extra) => {
        const cfg = { ...c, overwrites: c.overwrites.filter((o) => o.target !== ALICE) };
        const before = channelPermissions(build(cfg).view, ALICE, 'general');
        const after = channelPermissions(build(cfg).overwrite('general', ALICE, extra, 0n).view, ALICE, 'general');
        return (before & ~after) === 0n;
      }),
    );
  });
});
