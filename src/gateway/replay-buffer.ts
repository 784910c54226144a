// The dispatches a session has been assigned, by seq, for op 6 RESUME. Seqs are contiguous
// per session (1, 2, 3, ...), so a ring indexed by seq is enough. The array grows as frames
// arrive (not preallocated), so idle sessions cost nothing.

export class ReplayBuffer<T = Buffer> {
  private readonly ring: T[] = [];
  private last = 0; // highest seq stored

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  /** Store the tail for `seq`, which must be the next seq (last + 1). */
  push(seq: number, tail: T): void {
    if (seq !== this.last + 1) throw new RangeError(`replay buffer expects seq ${this.last + 1}, got ${seq}`);
    this.ring[(seq - 1) % this.capacity] = tail;
    this.last = seq;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Oldest seq still held (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return Math.max(1, this.last - this.capacity + 1);
  }

  /** True when every frame after `seq` is still held, so a resume from `seq` loses nothing. */
  canResumeFrom(seq: number): boolean {
    return Number.isInteger(seq) && seq >= 0 && seq <= this.last && seq + 1 >= this.firstSeq;
  }

  /** Tails after `seq`, oldest first, each with its seq. Call canResumeFrom first. */
  *after(seq: number): Generator<[number, T]> {
    for (let s = seq + 1; s <= this.last; s++) yield [s, this.ring[(s - 1) % this.capacity]];
  }
}
