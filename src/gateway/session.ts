// One gateway session: what survives a dropped socket. It owns the per-session seq and the
// replay buffer; while it has no socket (resumable) it keeps assigning seqs and buffering,
// so a resume replays exactly what was missed.
import type { GatewayIdentity } from './gateway-types.js';
import type { GatewayCounters } from './gateway-context.js';
import { ReplayBuffer } from './replay-buffer.js';
import type { ShardSpec } from './shard.js';

/** What a session needs from the socket it is attached to. */
export interface SessionSocket {
  /** `replay`: part of a resume replay (not checked against the back-pressure limit). */
  sendDispatch(seq: number, tail: Buffer, replay?: boolean): void;
  /** The session moved to another socket (a resume): let go of it and close. */
  handOver(): void;
  /** A replay burst was just queued: it must not count as a client falling behind. */
  replayed(): void;
}

export interface Presence {
  status: string;
  activities: unknown[];
}

export class Session {
  readonly userId: string;
  seq = 0;
  conn: SessionSocket | null = null;
  detachedAt = 0;
  /** False until READY and the initial GUILD_CREATEs went out; dispatches wait in `pending`. */
  ready = false;
  /** Set once the registry dropped it; an in-flight identify must stop. */
  dropped = false;
  /** More dispatches arrived during identify than `pending` may hold. */
  overflowed = false;
  private pending: Buffer[] = [];
  private readonly buffer: ReplayBuffer;

  constructor(
    readonly id: string,
    readonly identity: GatewayIdentity,
    readonly intents: number,
    readonly shard: ShardSpec | null,
    readonly presence: Presence,
    private readonly maxBuffered: number,
    private readonly counters: GatewayCounters,
  ) {
    this.userId = identity.user.id;
    this.buffer = new ReplayBuffer(maxBuffered);
  }

  /** Deliver a published dispatch (queued until the session is ready). */
  deliver(tail: Buffer): void {
    if (this.ready) {
      this.push(tail);
    } else if (this.pending.length < this.maxBuffered) {
      this.pending.push(tail);
    } else {
      this.overflowed = true;
    }
  }

  /** Assign the next seq, buffer it, and send it if a socket is attached. Returns the seq. */
  push(tail: Buffer): number {
    const s = ++this.seq;
    this.buffer.push(s, tail);
    this.counters.framesBuffered++;
    if (this.conn !== null) {
      this.conn.sendDispatch(s, tail);
      this.counters.framesSent++;
    }
    return s;
  }

  /** READY and GUILD_CREATEs are out: release what was published meanwhile, in order. */
  markReady(): void {
    this.ready = true;
    const pending = this.pending;
    this.pending = [];
    for (const tail of pending) this.push(tail);
  }

  attach(conn: SessionSocket): void {
    this.conn = conn;
    this.detachedAt = 0;
  }

  detach(now: number): void {
    this.conn = null;
    this.detachedAt = now;
  }

  canResumeFrom(seq: number): boolean {
    return this.ready && this.buffer.canResumeFrom(seq);
  }

  /** Send every buffered frame after `seq` to the attached socket, oldest first. */
  replayAfter(seq: number): number {
    let n = 0;
    if (this.conn === null) return 0;
    for (const [s, tail] of this.buffer.after(seq)) {
      this.conn.sendDispatch(s, tail, true);
      n++;
    }
    this.conn.replayed();
    this.counters.framesSent += n;
    return n;
  }
}
