import { normalizeDisplayName } from '../../src/accounts/accounts.js';
import { PROFILE_EDU, profileEdu, readProfileEdu } from '../../src/federation/profile-edu.js';
import { readProfilesAnswer } from '../../src/federation/profile-queries.js';

// What a server makes of profiles other servers send it: query/profiles answers and
// nexus.profile EDUs (spec/federation.md).

describe('display names', () => {
  it('are 1–32 characters once trimmed, counted in code points; null clears', () => {
    expect(normalizeDisplayName('  Ann  ')).toBe('Ann');
    expect(normalizeDisplayName(null)).toBeNull();
    expect(normalizeDisplayName('🙂'.repeat(32))).toBe('🙂'.repeat(32));
    for (const bad of ['', '   ', 'x'.repeat(33), '🙂'.repeat(33), 7, undefined, {}, ['a']]) expect(normalizeDisplayName(bad)).toBeUndefined();
  });
});

describe('readProfilesAnswer', () => {
  const asked = ['@a:b.test', '@b:b.test', '@c:b.test', '@d:b.test'];

  it('gives every asked user a name or null, and ignores what was not asked', () => {
    const answer = {
      profiles: {
        '@a:b.test': { displayname: ' Ann ', avatar_url: 'nexus://b.test/x' },
        '@b:b.test': { displayname: null, avatar_url: null },
        '@c:b.test': { displayname: 'x'.repeat(40) }, // not a display name: none
        '@z:b.test': { displayname: 'Not asked' },
      },
    };
    expect(readProfilesAnswer(answer, asked)).toEqual(new Map([['@a:b.test', 'Ann'], ['@b:b.test', null], ['@c:b.test', null], ['@d:b.test', null]]));
    // Inherited keys are not entries.
    expect(readProfilesAnswer({ profiles: {} }, ['toString']).get('toString')).toBeNull();
  });

  it('refuses an answer without a profiles object', () => {
    for (const bad of [null, {}, { profiles: [] }, { profiles: null }, 'x']) expect(() => readProfilesAnswer(bad, asked)).toThrow();
  });
});

describe('the nexus.profile EDU', () => {
  const origin = 'b.test';
  const edu = (content: object) => ({ edu_type: PROFILE_EDU, content });

  it('round-trips a user\'s profile', () => {
    const sent = profileEdu({ nexus_id: '@ann:b.test', display_name: 'Ann', avatar: null });
    expect(sent).toEqual(edu({ user_id: '@ann:b.test', displayname: 'Ann', avatar_url: null }));
    expect(readProfileEdu(origin, sent)).toEqual({ userId: '@ann:b.test', displayName: 'Ann' });
    expect(readProfileEdu(origin, edu({ user_id: '@ann:b.test', displayname: null, avatar_url: null }))).toEqual({ userId: '@ann:b.test', displayName: null });
  });

  it('is ignored unless it is about a user of its origin, with a valid display name', () => {
    for (const bad of [
      edu({ user_id: '@ann:c.test', displayname: 'Ann' }), // another server's user
      edu({ user_id: '@ann:b.test.evil', displayname: 'Ann' }),
      edu({ user_id: 'ann', displayname: 'Ann' }),
      edu({ user_id: '@ann:b.test' }), // no displayname: not "cleared"
      edu({ user_id: '@ann:b.test', displayname: '' }),
      edu({ user_id: '@ann:b.test', displayname: 'x'.repeat(33) }),
      edu({ user_id: '@ann:b.test', displayname: 5 }),
      { edu_type: 'nexus.typing', content: { user_id: '@ann:b.test', displayname: 'Ann' } },
    ]) expect(readProfileEdu(origin, bad)).toBeUndefined();
  });
});
