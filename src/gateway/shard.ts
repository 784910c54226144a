// Shard routing (Discord: shard_id = (guild_id >> 22) % num_shards; DMs go to shard 0).

export type ShardSpec = readonly [id: number, count: number];

/** Validate an identify `shard` field: [id, count] integers with 0 <= id < count. */
export function parseShard(value: unknown): ShardSpec | null | 'invalid' {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length !== 2) return 'invalid';
  const [id, count] = value;
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(count)) return 'invalid';
  if (count < 1 || id < 0 || id >= count) return 'invalid';
  return [id, count];
}

/** `guild_id >> 22` as a BigInt, or null when the id is not a snowflake. */
export function shardKey(guildId: string): bigint | null {
  if (!/^\d{1,20}$/.test(guildId)) return null;
  return BigInt(guildId) >> 22n;
}

/** Whether a session on `shard` receives an event whose guild has `key` (undefined = no guild). */
export function inShard(shard: ShardSpec | null, key: bigint | null | undefined): boolean {
  if (shard === null || shard[1] === 1) return true;
  if (key === undefined) return shard[0] === 0; // DMs and guild-less events go to shard 0
  if (key === null) return shard[0] === 0; // not a snowflake: route deterministically to shard 0
  return Number(key % BigInt(shard[1])) === shard[0];
}
