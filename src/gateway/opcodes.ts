// Gateway opcodes (Discord API v10, "Gateway Opcodes" table). Direction matters: a client
// that sends a receive-only opcode gets 4001, like any unknown opcode.

export const Op = {
  Dispatch: 0, // receive
  Heartbeat: 1, // send + receive
  Identify: 2, // send
  PresenceUpdate: 3, // send
  VoiceStateUpdate: 4, // send
  Resume: 6, // send
  Reconnect: 7, // receive
  RequestGuildMembers: 8, // send
  InvalidSession: 9, // receive
  Hello: 10, // receive
  HeartbeatAck: 11, // receive
  RequestSoundboardSounds: 31, // send; accepted and ignored (no soundboard here)
} as const;

/** Opcodes a client may send. Anything else closes the connection with 4001. */
export const CLIENT_OPCODES: ReadonlySet<number> = new Set([
  Op.Heartbeat,
  Op.Identify,
  Op.PresenceUpdate,
  Op.VoiceStateUpdate,
  Op.Resume,
  Op.RequestGuildMembers,
  Op.RequestSoundboardSounds,
]);

