// Pure pieces: the replay ring, the intent table, frames and content stripping.
import { dispatchFrame, EncodedDispatch, stripMessageContent } from '../../src/gateway/frame.js';
import { ALL_INTENTS, Intent, intentForEvent, isValidIntents } from '../../src/gateway/intents.js';
import { ReplayBuffer } from '../../src/gateway/replay-buffer.js';
import { inShard, parseShard, shardKey } from '../../src/gateway/shard.js';

describe('ReplayBuffer', () => {
  it('keeps the last `capacity` tails and knows which resumes are possible', () => {
    const b = new ReplayBuffer<string>(3);
    expect(b.canResumeFrom(0)).toBe(true); // nothing sent yet
    for (let s = 1; s <= 5; s++) b.push(s, `t${s}`);
    expect(b.firstSeq).toBe(3);
    expect(b.canResumeFrom(1)).toBe(false); // 2 is gone
    expect(b.canResumeFrom(2)).toBe(true);
    expect(b.canResumeFrom(5)).toBe(true);
    expect(b.canResumeFrom(6)).toBe(false);
    expect([...b.after(2)]).toEqual([[3, 't3'], [4, 't4'], [5, 't5']]);
    expect([...b.after(5)]).toEqual([]);
    expect(() => b.push(7, 'x')).toThrow(RangeError);
  });
});

describe('intents', () => {
  it('maps events to the intent Discord requires', () => {
    expect(intentForEvent('MESSAGE_CREATE', true)).toBe(Intent.GUILD_MESSAGES);
    expect(intentForEvent('MESSAGE_CREATE', false)).toBe(Intent.DIRECT_MESSAGES);
    expect(intentForEvent('GUILD_BAN_ADD', true)).toBe(Intent.GUILD_MODERATION);
    expect(intentForEvent('TYPING_START', true)).toBe(Intent.GUILD_MESSAGE_TYPING);
    expect(intentForEvent('TYPING_START', false)).toBe(Intent.DIRECT_MESSAGE_TYPING);
    expect(intentForEvent('PRESENCE_UPDATE', true)).toBe(Intent.GUILD_PRESENCES);
    expect(intentForEvent('GUILD_MEMBER_ADD', true)).toBe(Intent.GUILD_MEMBERS);
    expect(intentForEvent('INTERACTION_CREATE', true)).toBe(0);
  });

  it('accepts exactly the defined bits', () => {
    expect(isValidIntents(ALL_INTENTS)).toBe(true);
    expect(isValidIntents(0)).toBe(true);
    expect(isValidIntents(1 << 25)).toBe(true);
    expect(isValidIntents(1 << 26)).toBe(false);
    expect(isValidIntents(1 << 18)).toBe(false);
    expect(isValidIntents(-1)).toBe(false);
    expect(isValidIntents('513')).toBe(false);
  });
});

describe('frames', () => {
  it('splices the seq into a once-serialized payload and stays valid JSON', () => {
    const enc = new EncodedDispatch('MESSAGE_CREATE', { content: 'a "quoted" \u2028 text', n: 1 });
    const frame = JSON.parse(dispatchFrame(42, enc.tail));
    expect(frame).toEqual({ op: 0, s: 42, t: 'MESSAGE_CREATE', d: { content: 'a "quoted" \u2028 text', n: 1 } });
    expect(JSON.parse(dispatchFrame(1, enc.strippedTail)).d).toEqual({ content: '', embeds: [], attachments: [], components: [], n: 1 });
  });

  it('strips a quoted reply and a poll too', () => {
    const out = stripMessageContent({ content: 'x', poll: { q: 1 }, referenced_message: { content: 'parent', embeds: [1] } }, false);
    expect(out.poll).toBeUndefined();
    expect(out.referenced_message).toMatchObject({ content: '', embeds: [] });
  });
});

describe('shards', () => {
  it('validates [id, count] and routes by (guild_id >> 22) % count', () => {
    expect(parseShard(undefined)).toBeNull();
    expect(parseShard([0, 1])).toEqual([0, 1]);
    expect(parseShard([1, 1])).toBe('invalid');
    expect(parseShard([0, 0])).toBe('invalid');
    expect(parseShard(['0', 2])).toBe('invalid');
    const id = '175928847299117063'; // Discord's docs example
    const key = shardKey(id)!;
    expect(key).toBe(BigInt(id) >> 22n);
    expect(inShard([Number(key % 16n), 16], key)).toBe(true);
    expect(inShard([(Number(key % 16n) + 1) % 16, 16], key)).toBe(false);
    expect(inShard([0, 4], undefined)).toBe(true);
    expect(inShard([1, 4], undefined)).toBe(false);
  });
});
