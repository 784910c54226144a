import { createTrustPolicy, TrustConfigError, trustPolicyFromEnv } from '../../src/federation/trust.js';

describe('trust policy', () => {
  it('open allows anyone, off allows no one', () => {
    expect(createTrustPolicy({ mode: 'open' }).allows('x.example')).toBe(true);
    expect(createTrustPolicy({ mode: 'off', allow: ['x.example'] }).allows('x.example')).toBe(false);
  });

  it('allowlist allows exactly the listed names, byte for byte', () => {
    const p = createTrustPolicy({ mode: 'allowlist', allow: [' a.example ', 'b.example:8448', ''] });
    expect(p.allows('a.example')).toBe(true);
    expect(p.allows('b.example:8448')).toBe(true);
    expect(p.allows('b.example')).toBe(false);
    expect(p.allows('A.example')).toBe(false);
    expect(p.allows('c.example')).toBe(false);
  });

  it('refuses an allow list entry that is not a server name', () => {
    expect(() => createTrustPolicy({ mode: 'allowlist', allow: ['a example'] })).toThrow(TrustConfigError);
  });

  it('reads NEXUS_FEDERATION and NEXUS_FEDERATION_ALLOW, defaulting to allowlist', () => {
    const dflt = trustPolicyFromEnv({});
    expect(dflt.mode).toBe('allowlist');
    expect(dflt.allows('a.example')).toBe(false);
    const listed = trustPolicyFromEnv({ NEXUS_FEDERATION_ALLOW: 'a.example, b.example:1' });
    expect([listed.allows('a.example'), listed.allows('b.example:1')]).toEqual([true, true]);
    expect(trustPolicyFromEnv({ NEXUS_FEDERATION: 'OPEN' }).allows('z.example')).toBe(true);
    expect(trustPolicyFromEnv({ NEXUS_FEDERATION: 'off', NEXUS_FEDERATION_ALLOW: 'a.example' }).allows('a.example')).toBe(false);
    expect(() => trustPolicyFromEnv({ NEXUS_FEDERATION: 'maybe' })).toThrow(/NEXUS_FEDERATION must be/);
  });
});

describe('NEXUS_FEDERATION_INSECURE', () => {
  it('is on only for 1 or true', async () => {
    const { federationInsecureFromEnv } = await import('../../src/federation/discovery.js');
    expect(['1', 'true', 'TRUE'].map((v) => federationInsecureFromEnv({ NEXUS_FEDERATION_INSECURE: v }))).toEqual([true, true, true]);
    expect(['', '0', 'no', undefined].map((v) => federationInsecureFromEnv({ NEXUS_FEDERATION_INSECURE: v }))).toEqual([false, false, false, false]);
  });
});
