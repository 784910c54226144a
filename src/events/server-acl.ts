import { EventType, type ServerAclContent } from './event-types.js';
import { getStateEvent, type StateMap } from './state-map.js';

/** A server name's host: what ACL patterns are matched against (ports are ignored). */
export function aclHost(serverName: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(serverName);
  if (v6) return v6[1].toLowerCase();
  return serverName.replace(/:\d+$/, '').toLowerCase();
}

/** Glob match: `*` any run of characters, `?` exactly one; case-insensitive. */
export function aclPatternMatches(pattern: string, host: string): boolean {
  const re = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(host);
}

/** Whether an ACL lets `serverName` take part. */
export function aclAllows(acl: ServerAclContent, serverName: string): boolean {
  const host = aclHost(serverName);
  return acl.allow.some((p) => aclPatternMatches(p, host)) && !acl.deny.some((p) => aclPatternMatches(p, host));
}

/** Whether the guild's current server ACL (if any) lets `serverName` take part. */
export function serverAllowedInGuild(state: StateMap, serverName: string): boolean {
  const ev = getStateEvent(state, EventType.ServerAcl, '');
  return ev ? aclAllows(ev.pdu.content as unknown as ServerAclContent, serverName) : true;
}
