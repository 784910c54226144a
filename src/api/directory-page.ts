import type { RequestHandler } from 'express';

/**
 * GET /directory: a page for browsing public guilds, here or on another server. It calls
 * /api/v10/directory from the browser; names and descriptions are inserted as text, never
 * as HTML.
 */
export function directoryPage(serverName: string): RequestHandler {
  const html = PAGE.replace('{{SERVER}}', escapeHtml(serverName));
  return (_req, res) => {
    res.set('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    res.type('html').send(html);
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nexus directory</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  form { display: flex; gap: .5rem; margin-bottom: 1.5rem; flex-wrap: wrap; }
  input { padding: .4rem .6rem; font: inherit; flex: 1 1 10rem; }
  button { padding: .4rem 1rem; font: inherit; }
  ul { padding: 0; } li { list-style: none; border-bottom: 1px solid #ddd; padding: .6rem 0; }
  .name { font-weight: 600; } .meta { color: #666; font-size: .9rem; } #status { color: #666; }
</style>
</head>
<body>
<h1>Public guilds</h1>
<form id="search">
  <input id="server" name="server" placeholder="server (blank: {{SERVER}})" aria-label="server">
  <input id="q" name="q" placeholder="search" aria-label="search">
  <button>Browse</button>
</form>
<p id="status"></p>
<ul id="guilds"></ul>
<script>
  const form = document.getElementById('search');
  const list = document.getElementById('guilds');
  const status = document.getElementById('status');
  async function browse() {
    const params = new URLSearchParams();
    for (const id of ['server', 'q']) { const v = document.getElementById(id).value.trim(); if (v) params.set(id, v); }
    status.textContent = 'Loading…';
    list.replaceChildren();
    const res = await fetch('/api/v10/directory?' + params);
    const body = await res.json();
    if (!res.ok) { status.textContent = body.message || 'Something went wrong'; return; }
    status.textContent = body.guilds.length ? 'Public guilds on ' + body.server : 'No public guilds on ' + body.server;
    for (const g of body.guilds) {
      const li = document.createElement('li');
      const name = document.createElement('div'); name.className = 'name'; name.textContent = g.name;
      const meta = document.createElement('div'); meta.className = 'meta';
      meta.textContent = (g.description ? g.description + ' · ' : '') + g.member_count + (g.member_count === 1 ? ' member' : ' members') + ' · ' + g.guild_id;
      li.append(name, meta);
      list.append(li);
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); browse(); });
  browse();
</script>
</body>
</html>
`;
