import type { apiClient } from './homeserver.js';

type Api = ReturnType<typeof apiClient>;

export interface ListedMessage {
  id: string;
  nexus_id: string;
  content: string;
  author: { username: string; nexus_id: string };
}

/** The smallest id the API accepts as a snowflake (17 digits): older than any message. */
const OLDEST_SNOWFLAKE = '10000000000000000';

async function page(api: Api, channelId: string, query: string): Promise<ListedMessage[]> {
  const res = await api.get<ListedMessage[]>(`/channels/${channelId}/messages?${query}`);
  if (res.status !== 200) throw new Error(`GET messages ${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const byId = (a: { id: string }, b: { id: string }) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);

/** Every message of a channel, newest first, read `before` the oldest seen, a page at a time. */
export async function pageBackward(api: Api, channelId: string, limit = 25): Promise<ListedMessage[]> {
  const all: ListedMessage[] = [];
  let before = '';
  for (;;) {
    const rows = await page(api, channelId, `limit=${limit}${before ? `&before=${before}` : ''}`);
    if (rows.length === 0) return all;
    all.push(...rows);
    before = [...rows].sort(byId)[0].id;
    if (rows.length < limit) return all;
  }
}

/** Every message of a channel, oldest first, read `after` the newest seen, a page at a time. */
export async function pageForward(api: Api, channelId: string, limit = 25): Promise<ListedMessage[]> {
  const all: ListedMessage[] = [];
  let after = OLDEST_SNOWFLAKE;
  for (;;) {
    const rows = [...(await page(api, channelId, `limit=${limit}&after=${after}`))].sort(byId);
    if (rows.length === 0) return all;
    all.push(...rows);
    after = rows[rows.length - 1].id;
    if (rows.length < limit) return all;
  }
}

/**
 * A channel's whole history read both ways. Both readings must list the same messages:
 * paging that skipped or repeated a row would show up as a difference.
 */
export async function readChannel(api: Api, channelId: string, limit = 25): Promise<ListedMessage[]> {
  const [back, fwd] = await Promise.all([pageBackward(api, channelId, limit), pageForward(api, channelId, limit)]);
  const ids = (list: ListedMessage[]) => list.map((m) => m.id).sort().join(',');
  if (ids(back) !== ids(fwd)) {
    throw new Error(`paging before/after disagree on channel ${channelId}: ${back.length} messages backward, ${fwd.length} forward`);
  }
  return fwd;
}
