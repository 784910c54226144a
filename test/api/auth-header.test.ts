import { tokenFromAuthorization } from '../../src/api/auth-header.js';

describe('tokenFromAuthorization', () => {
  const t = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.abcDEF_-123';
  test.each([
    [t, t],
    [`Bot ${t}`, t],
    [`bot ${t}`, t],
    [`BOT    ${t}`, t],
    [`Bearer ${t}`, t],
    [`bEaReR ${t}`, t],
    [`  Bot ${t}  `, t],
    [`\t${t}\n`, t],
  ])('%j → token', (header, expected) => {
    expect(tokenFromAuthorization(header)).toBe(expected);
  });

  test.each([[undefined], [null], [''], ['   '], ['Bot'], ['Bot   '], [`Basic ${t}`], [`Bot ${t} extra`], ['tok\u0000en'], ['x'.repeat(513)]])(
    '%j → null',
    (header) => {
      expect(tokenFromAuthorization(header as string | undefined)).toBeNull();
    },
  );
});
