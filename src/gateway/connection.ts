// One WebSocket connection: HELLO, parsing, the command budget, heartbeats, routing of
// client opcodes, and what happens to its session when the socket goes away.
// Discord gateway docs: "Connecting", "Sending Heartbeats", "Gateway Close Event Codes".
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { CLOSE_CODES, CloseCode, type CloseCodeValue } from './close-codes.js';
import { CommandRateLimit } from './command-rate-limit.js';
import { dispatchFrame, HEARTBEAT_ACK_FRAME, helloFrame } from './frame.js';
import { FrameWriter } from './frame-writer.js';
import type { GatewayContext } from './gateway-context.js';
import { handleIdentify } from './identify.js';
import { handleRequestGuildMembers } from './member-requests.js';
import { CLIENT_OPCODES, Op } from './opcodes.js';
import { handlePresenceUpdate, handleVoiceStateUpdate } from './presence.js';
import { handleResume } from './resume.js';
import type { Session } from './session.js';

/** hello: waiting for identify/resume; authenticating: one in flight; ready: has a live session. */
export type ConnectionState = 'hello' | 'authenticating' | 'ready' | 'closed';

export class Connection {
  state: ConnectionState = 'hello';
  session: Session | null = null;
  lastHeartbeatAt: number;
  /** Resolves once the socket has fully closed. */
  readonly closed: Promise<void>;
  private readonly rate: CommandRateLimit;
  private readonly writer: FrameWriter | null;
  private pressureLimit: number;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly ws: WebSocket,
    readonly version: number,
  ) {
    this.lastHeartbeatAt = ctx.clock.now();
    this.pressureLimit = ctx.opts.maxSocketBufferedBytes;
    this.rate = new CommandRateLimit(ctx.clock, ctx.opts.commandLimit.count, ctx.opts.commandLimit.windowMs);
    // ws keeps the net.Socket private; we write our own frames to it (see frame-writer.ts).
    // Should a ws version hide it, we fall back to ws.send.
    const socket = (ws as unknown as { _socket?: Socket })._socket;
    this.writer = socket ? new FrameWriter(socket, ctx.flusher, () => ws.readyState === WebSocket.OPEN) : null;
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data) => this.onMessage(data));
    ws.on('close', (code) => this.onClose(code));
    ws.on('error', (err) => ctx.log.debug({ err }, 'gateway: socket error'));
    ctx.connections.add(this);
    this.send(helloFrame(ctx.opts.heartbeatIntervalMs));
  }

  /** Send a non-dispatch frame (HELLO, ACK, op 7, op 9). */
  send(frame: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.writer) this.writer.sendText(frame);
    else this.ws.send(frame);
    this.checkBackpressure();
  }

  sendDispatch(seq: number, tail: Buffer, replay = false): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.writer) this.writer.sendDispatch(seq, tail);
    else this.ws.send(dispatchFrame(seq, tail));
    if (!replay) this.checkBackpressure();
  }

  /** Write out anything queued now (before a close frame, which must come last). */
  flush(): void {
    this.writer?.flush();
  }

  // A client that cannot keep up is dropped rather than buffered without bound; its
  // session stays resumable, so a client that catches up can resume what it missed.
  // A resume replay may exceed the limit once (it is bounded by the replay buffer): the
  // limit is raised by the replay's size until the client has drained below the limit.
  private checkBackpressure(): void {
    const buffered = this.bufferedAmount();
    if (buffered > this.pressureLimit) this.drop('send buffer overflow');
    else if (buffered <= this.ctx.opts.maxSocketBufferedBytes) this.pressureLimit = this.ctx.opts.maxSocketBufferedBytes;
  }

  replayed(): void {
    this.pressureLimit = this.ctx.opts.maxSocketBufferedBytes + this.bufferedAmount();
  }

  private bufferedAmount(): number {
    return this.writer ? this.writer.bufferedAmount : this.ws.bufferedAmount;
  }

  /** A method, not a field read, so TypeScript does not narrow it across awaits. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Close from the server side. The session stays resumable when the close code says so
   * (4009, 4000, ...) unless `dropSession`.
   */
  close(code: CloseCodeValue, reason?: string, dropSession?: boolean): void {
    if (this.state === 'closed') return;
    const info = CLOSE_CODES[code];
    this.ctx.log.debug({ code, userId: this.session?.userId }, 'gateway: closing connection');
    this.releaseSession(dropSession ?? !info.resumable);
    this.state = 'closed';
    this.flush();
    this.ws.close(code, fitCloseReason(reason ?? info.reason));
  }

  /** Cut the TCP connection without a close handshake; the session stays resumable. */
  drop(reason: string): void {
    if (this.state !== 'closed') {
      this.ctx.log.debug({ reason }, 'gateway: dropping connection');
      this.releaseSession(false);
      this.state = 'closed';
    }
    this.ws.terminate();
  }

  /** Hand the session over to another connection (a resume elsewhere) and close this one. */
  handOver(): void {
    this.session = null;
    this.close(CloseCode.UnknownError, 'Session resumed on another connection');
  }

  attachSession(session: Session): void {
    this.session = session;
    session.attach(this);
    this.state = 'ready';
  }

  private releaseSession(drop: boolean): void {
    const session = this.session;
    this.session = null;
    if (!session || session.conn !== this) return;
    if (drop || !session.ready) this.ctx.registry.remove(session);
    else session.detach(this.ctx.clock.now());
  }

  private onClose(code: number): void {
    this.ctx.connections.delete(this);
    if (this.state === 'closed') return; // we closed it; the session was already handled
    this.state = 'closed';
    // Discord: a client closing with 1000/1001 ends its session; any other code (or a
    // dropped TCP connection, 1006) leaves it resumable.
    this.releaseSession(code === 1000 || code === 1001);
  }

  private onMessage(data: RawData): void {
    if (this.state === 'closed') return;
    if (!this.rate.take()) return this.close(CloseCode.RateLimited);
    let msg: unknown;
    try {
      msg = JSON.parse(rawToString(data));
    } catch {
      return this.close(CloseCode.DecodeError);
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.close(CloseCode.DecodeError);
    const { op, d } = msg as { op?: unknown; d?: unknown };
    if (typeof op !== 'number' || !Number.isInteger(op)) return this.close(CloseCode.DecodeError);
    if (!CLIENT_OPCODES.has(op)) return this.close(CloseCode.UnknownOpcode);

    if (op === Op.Heartbeat) {
      this.lastHeartbeatAt = this.ctx.clock.now();
      this.send(HEARTBEAT_ACK_FRAME);
      return;
    }
    if (op === Op.Identify || op === Op.Resume) {
      if (this.state !== 'hello') return this.close(CloseCode.AlreadyAuthenticated);
      this.state = 'authenticating';
      const handler = op === Op.Identify ? handleIdentify : handleResume;
      handler(this.ctx, this, d).catch((err: unknown) => {
        this.ctx.log.error({ err }, 'gateway: identify/resume failed');
        this.close(CloseCode.UnknownError);
      });
      return;
    }
    // Anything but heartbeat/identify/resume needs an identified (or resumed) session.
    if (this.state !== 'ready' || !this.session) return this.close(CloseCode.NotAuthenticated);
    const session = this.session;
    switch (op) {
      case Op.PresenceUpdate:
        return handlePresenceUpdate(this.ctx, this, session, d);
      case Op.VoiceStateUpdate:
        return handleVoiceStateUpdate(this.ctx, this, session, d);
      case Op.RequestGuildMembers:
        handleRequestGuildMembers(this.ctx, this, session, d).catch((err: unknown) => {
          this.ctx.log.error({ err }, 'gateway: request guild members failed');
        });
        return;
      default:
        return; // op 31 (soundboard sounds): nothing to answer with here
    }
  }
}

/** WebSocket close reasons are limited to 123 bytes (RFC 6455 §5.5); ws throws beyond that. */
export function fitCloseReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
