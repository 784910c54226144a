// Writes server→client WebSocket text frames (RFC 6455 §5.2: FIN, opcode 1, unmasked) for one
// connection straight to its socket. Dispatch frames are `{"op":0,"s":<seq>` + a tail Buffer
// shared by every session (frame.ts), so queuing a frame stores two values and allocates
// nothing; at flush the queued frames are laid out into one Buffer and written at once.
//
// Why not ws.send: per frame it re-measures and re-encodes the string and makes a Node
// stream write; at 100 clients × 3,000 msgs/s that was most of the server's CPU. Writing
// whole frames to the socket is safe because permessage-deflate is off (ws's Sender then
// never queues), our writes contain complete frames only (ws's own pong and close frames
// land between them), and we flush before every ws.close().
import type { Socket } from 'node:net';
import type { Flushable, FlushScheduler } from './flush-scheduler.js';

const DISPATCH_PREFIX = '{"op":0,"s":';
const MAX_BATCH_BYTES = 256 * 1024; // flush early past this, so one write stays bounded

export class FrameWriter implements Flushable {
  // Parallel arrays: seq >= 0 → a dispatch frame (prefix + seq, then bufs[i] as the tail);
  // seq < 0 → bufs[i] is a whole payload.
  private seqs: number[] = [];
  private bufs: Buffer[] = [];
  private bytes = 0; // payload bytes queued (headers excluded)
  private scheduled = false;

  constructor(
    private readonly socket: Socket,
    private readonly scheduler: FlushScheduler,
    /** False once the WebSocket is closing: nothing may follow a close frame. */
    private readonly isOpen: () => boolean,
  ) {}

  /** Bytes accepted but not yet on the wire (ours plus the socket's own buffer). */
  get bufferedAmount(): number {
    return this.bytes + this.socket.writableLength;
  }

  sendDispatch(seq: number, tail: Buffer): void {
    this.seqs.push(seq);
    this.bufs.push(tail);
    this.bytes += DISPATCH_PREFIX.length + 20 + tail.length;
    this.queued();
  }

  sendText(payload: string): void {
    const buf = Buffer.from(payload, 'utf8');
    this.seqs.push(-1);
    this.bufs.push(buf);
    this.bytes += buf.length;
    this.queued();
  }

  /** Write everything queued as one buffer of complete frames. */
  flush(): void {
    this.scheduled = false;
    const n = this.seqs.length;
    if (n === 0) return;
    const seqs = this.seqs;
    const bufs = this.bufs;
    this.seqs = [];
    this.bufs = [];
    this.bytes = 0;
    // Closing: drop them (a session's replay buffer still holds its dispatches).
    if (!this.isOpen() || !this.socket.writable) return;

    const prefixes: string[] = new Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let len = bufs[i].length;
      if (seqs[i] >= 0) {
        prefixes[i] = DISPATCH_PREFIX + seqs[i];
        len += prefixes[i].length;
      }
      total += headerLength(len) + len;
    }
    const out = Buffer.allocUnsafe(total);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const prefix = seqs[i] >= 0 ? prefixes[i] : '';
      const body = bufs[i];
      off = writeHeader(out, off, prefix.length + body.length);
      if (prefix.length > 0) off += out.write(prefix, off, 'latin1'); // ASCII only
      off += body.copy(out, off);
    }
    this.socket.write(out);
  }

  private queued(): void {
    if (this.bytes >= MAX_BATCH_BYTES) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.add(this);
    }
  }
}

function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

function writeHeader(out: Buffer, off: number, len: number): number {
  out[off] = 0x81; // FIN + text
  if (len < 126) {
    out[off + 1] = len;
    return off + 2;
  }
  if (len < 65536) {
    out[off + 1] = 126;
    out.writeUInt16BE(len, off + 2);
    return off + 4;
  }
  out[off + 1] = 127;
  out.writeUInt32BE(Math.floor(len / 2 ** 32), off + 2);
  out.writeUInt32BE(len >>> 0, off + 6);
  return off + 10;
}
