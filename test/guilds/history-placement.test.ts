import fc from 'fast-check';
import type { StoredEvent } from '../../src/events/event-types.js';
import { placeHistory } from '../../src/guilds/history-placement.js';
import { DISCORD_EPOCH } from '../../src/snowflake.js';

const ev = (id: string, ts: number): StoredEvent => ({ event_id: id, pdu: { origin_server_ts: ts } as StoredEvent['pdu'] });
const T = 1_760_000_000_000;

describe('placeHistory', () => {
  it('places events at their own time when it is before everything here', () => {
    const placed = placeHistory([ev('$a', T - 3000), ev('$b', T - 2000), ev('$c', T - 1000)], T);
    expect([...placed.entries()].sort()).toEqual([['$a', T - 3000], ['$b', T - 2000], ['$c', T - 1000]]);
  });

  it('never after what is here, nor after a newer event of the page (skewed or lying clocks)', () => {
    const placed = placeHistory([ev('$old', T + 50_000), ev('$mid', T - 10), ev('$new', T + 99_000)], T);
    expect(placed.get('$new')).toBe(T - 1);
    expect(placed.get('$mid')).toBe(T - 10);
    expect(placed.get('$old')).toBe(T - 10);
  });

  it('never before Discord\'s epoch, and survives a non-numeric timestamp', () => {
    const placed = placeHistory([ev('$a', 5), ev('$b', Number.NaN)], T);
    expect(placed.get('$a')).toBe(Number(DISCORD_EPOCH));
    expect(placed.get('$b')).toBe(T - 1);
  });

  it('for any page: every placement is before `before`, and they never decrease along the page', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 2 * T }), { maxLength: 50 }), fc.integer({ min: Number(DISCORD_EPOCH) + 1, max: 2 * T }), (times, before) => {
      const events = times.map((t, i) => ev(`$${i}`, t));
      const placed = events.map((e) => placeHistory(events, before).get(e.event_id)!);
      for (let i = 0; i < placed.length; i++) {
        expect(placed[i]).toBeLessThan(before);
        expect(placed[i]).toBeGreaterThanOrEqual(Number(DISCORD_EPOCH));
        if (i > 0) expect(placed[i]).toBeGreaterThanOrEqual(placed[i - 1]);
      }
    }));
  });
});
