// Wire frames. A dispatch is serialized once per publish into a shared "tail"
// (`,"t":"X","d":{...}}`, UTF-8 encoded once); each session's frame is `{"op":0,"s":<seq>`
// + tail (frame-writer.ts splices them), so fanning out to N sessions never calls
// JSON.stringify per session. Sessions keep the shared tail (not a private copy) in their
// replay buffers, so memory per buffered dispatch does not grow with the session count.
import { Op } from './opcodes.js';

export function encodeTail(t: string, dJson: string): string {
  return ',"t":' + JSON.stringify(t) + ',"d":' + dJson + '}';
}

export function tailBuffer(t: string, dJson: string): Buffer {
  return Buffer.from(encodeTail(t, dJson), 'utf8');
}

/** The frame text a session receives (frame-writer.ts builds the same bytes without this string). */
export function dispatchFrame(seq: number, tail: string | Buffer): string {
  return '{"op":0,"s":' + seq + (typeof tail === 'string' ? tail : tail.toString('utf8'));
}

/** A non-dispatch frame; Discord sends `s` and `t` as null on these. */
export function opFrame(op: number, d: unknown): string {
  return '{"op":' + op + ',"d":' + JSON.stringify(d ?? null) + ',"s":null,"t":null}';
}

export const HEARTBEAT_ACK_FRAME = opFrame(Op.HeartbeatAck, null);
export const RECONNECT_FRAME = opFrame(Op.Reconnect, null);
export const INVALID_SESSION_FRAME = opFrame(Op.InvalidSession, false);

export function helloFrame(heartbeatIntervalMs: number): string {
  return opFrame(Op.Hello, { heartbeat_interval: heartbeatIntervalMs });
}

export const CONTENT_EVENTS: ReadonlySet<string> = new Set(['MESSAGE_CREATE', 'MESSAGE_UPDATE']);

/**
 * The payload as seen without the MESSAGE_CONTENT intent (Discord: content, embeds,
 * attachments, components and poll are empty). MESSAGE_UPDATE is partial, so only the
 * fields it carries are blanked; a quoted reply (`referenced_message`) is blanked too so
 * the parent's text does not leak through it.
 */
export function stripMessageContent(d: Record<string, unknown>, partial: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...d };
  const blank = (key: string, value: unknown): void => {
    if (!partial || key in d) out[key] = value;
  };
  blank('content', '');
  blank('embeds', []);
  blank('attachments', []);
  blank('components', []);
  if ('poll' in out) delete out.poll;
  const ref = d.referenced_message;
  if (ref && typeof ref === 'object' && !Array.isArray(ref)) {
    out.referenced_message = stripMessageContent(ref as Record<string, unknown>, false);
  }
  return out;
}

/** One published dispatch, encoded lazily at most twice (full and content-stripped). */
export class EncodedDispatch {
  readonly tail: Buffer;
  private strippedTailCache: Buffer | null = null;

  constructor(readonly t: string, private readonly d: Record<string, unknown>) {
    this.tail = tailBuffer(t, JSON.stringify(d));
  }

  get strippedTail(): Buffer {
    if (this.strippedTailCache === null) {
      const stripped = stripMessageContent(this.d, this.t === 'MESSAGE_UPDATE');
      this.strippedTailCache = tailBuffer(this.t, JSON.stringify(stripped));
    }
    return this.strippedTailCache;
  }
}
