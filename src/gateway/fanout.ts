// publish(): deliver one dispatch to every session (live or resumable) allowed to see it.
// The payload is serialized once (twice when MESSAGE_CONTENT stripping applies); each
// session only splices in its own seq (frame.ts).
import { CONTENT_EVENTS, EncodedDispatch } from './frame.js';
import type { Dispatch } from './gateway-types.js';
import { Intent } from './intents.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';
import { inShard, shardKey } from './shard.js';

export function fanOut(registry: SessionRegistry, d: Dispatch): void {
  const enc = new EncodedDispatch(d.t, d.d);
  const contentGated = CONTENT_EVENTS.has(d.t);
  const intent = d.intent;
  let key: bigint | null | undefined; // computed on the first sharded session only
  let keyKnown = false;

  const deliver = (s: Session): void => {
    if (intent !== 0 && (s.intents & intent) !== intent) return;
    if (s.shard !== null && s.shard[1] > 1) {
      if (!keyKnown) {
        key = d.guildId === undefined ? undefined : shardKey(d.guildId);
        keyKnown = true;
      }
      if (!inShard(s.shard, key)) return;
    }
    const stripped =
      contentGated && (s.intents & Intent.MESSAGE_CONTENT) === 0 && !(d.contentVisibleTo?.has(s.userId) ?? false);
    s.deliver(stripped ? enc.strippedTail : enc.tail);
  };

  // Walk whichever side is smaller: a huge guild's recipients with few sessions online, or
  // many sessions and a dispatch for a handful of users.
  const byUser = registry.byUser;
  if (d.recipients.size <= byUser.size) {
    for (const userId of d.recipients) {
      const sessions = byUser.get(userId);
      if (sessions) for (const s of sessions) deliver(s);
    }
  } else {
    for (const [userId, sessions] of byUser) {
      if (d.recipients.has(userId)) for (const s of sessions) deliver(s);
    }
  }
}
