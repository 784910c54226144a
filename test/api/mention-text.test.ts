import fc from 'fast-check';
import { globalizeMentions, localizeMentions, mentionedSnowflakes, mentionsChannel } from '../../src/api/render/mention-text.js';

// Bodies carry mentions with global ids; each server shows them with its own snowflakes.
const onA = {
  users: new Map([['111111111111111111', '@alice:a.example'], ['222222222222222222', '@bob:b.example']]),
  roles: new Map([['333333333333333333', 'modKey000001'], ['444444444444444444', 'everyone']]),
  channels: new Map([['555555555555555555', 'chanKey00001']]),
};
const onB = {
  users: new Map([['@alice:a.example', '900000000000000001'], ['@bob:b.example', '900000000000000002']]),
  roles: new Map([['modKey000001', '900000000000000003'], ['everyone', '900000000000000004']]),
  channels: new Map([['chanKey00001', '900000000000000005']]),
};
const invert = (m: Map<string, string>) => new Map([...m].map(([k, v]) => [v, k]));
const globalizeOnA = (t: string) => globalizeMentions(t, { user: (id) => onA.users.get(id), role: (id) => onA.roles.get(id), channel: (id) => onA.channels.get(id) });
const localizeOn = (side: typeof onB) => (t: string) => localizeMentions(t, { user: (id) => side.users.get(id), role: (k) => side.roles.get(k), channel: (k) => side.channels.get(k) });
const asA = { users: invert(onA.users), roles: invert(onA.roles), channels: invert(onA.channels) };

describe('mentions in message bodies', () => {
  it('writes known mentions with global ids, and leaves unknown ones as typed', () => {
    expect(globalizeOnA('hi <@111111111111111111> and <@!222222222222222222>, see <#555555555555555555> <@&333333333333333333> <@999999999999999999>'))
      .toBe('hi <@@alice:a.example> and <@@bob:b.example>, see <#chanKey00001> <@&modKey000001> <@999999999999999999>');
    expect(globalizeOnA('no mentions here')).toBe('no mentions here');
  });

  it('shows global mentions with the reading server\'s snowflakes; an unknown user as their id', () => {
    expect(localizeOn(onB)('hi <@@alice:a.example>, see <#chanKey00001> <@&modKey000001> <@&everyone>'))
      .toBe('hi <@900000000000000001>, see <#900000000000000005> <@&900000000000000003> <@&900000000000000004>');
    expect(localizeOn(onB)('ask <@@carol:c.example> or <@&unknownKey01> in <#nowhere00001>')).toBe('ask @carol:c.example or <@&unknownKey01> in <#nowhere00001>');
  });

  it('gives back what the author typed on their own server, for any text', () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom(...[...onA.users.keys()].map((id) => `<@${id}>`), ...[...onA.roles.keys()].map((id) => `<@&${id}>`), ...[...onA.channels.keys()].map((id) => `<#${id}>`)),
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
      const typed = pieces.join(' ');
      // <@!id> is the same mention as <@id>: it comes back without the "!".
      expect(localizeOn(asA)(globalizeOnA(typed))).toBe(typed);
    }), { numRuns: 500 });
  });

  it('lists the snowflakes a text mentions, by kind', () => {
    expect(mentionedSnowflakes('<@1> <@!2> <@&3> <#4> <@1>')).toEqual({ users: ['1', '2'], roles: ['3'], channels: ['4'] });
    expect(mentionsChannel('see <#chanKey00001>')).toBe(true);
    expect(mentionsChannel('no channel <@@alice:a.example>')).toBe(false);
  });
});
