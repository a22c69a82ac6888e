#!/usr/bin/env node
// A stand-in for the Docket gateway, in memory, for trying the web app and the e2e script
// in a browser before (or without) the Rust services. It follows ARCHITECTURE.md loosely:
// it is no reference for the API and no substitute for running e2e against the real stack.
//
//   node e2e/mock-gateway.mjs            serves dist/ and /api on 127.0.0.1:8089
//   MOCK_PORT, MOCK_AGENT_EMAIL, MOCK_AGENT_PASSWORD (an agent seeded at start)
//   MOCK_AUTH_URL  when set, /api/auth/*, /api/users* and /api/agents go to this real auth
//                  service, and the in-memory tickets trust its tokens' claims (unverified)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomUUID, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const PORT = Number(process.env.MOCK_PORT ?? 8089);
const MAX_UPLOAD = 10 * 1024 * 1024;
const AUTH_URL = process.env.MOCK_AUTH_URL?.replace(/\/+$/, '');

/** @type {Map<string, any>} */ const users = new Map();
/** @type {Map<string, string>} */ const access = new Map();
/** @type {Map<string, string>} */ const refresh = new Map();
/** @type {any[]} */ const tickets = [];
/** @type {any[]} */ const comments = [];
/** @type {any[]} */ const events = [];
/** @type {any[]} */ const attachments = [];
/** @type {Map<string, Buffer>} */ const blobs = new Map();

const now = () => new Date().toISOString();
/** @param {string} email @param {string} name @param {string} password @param {string} role */
function addUser(email, name, password, role) {
  const u = { id: randomUUID(), email: email.trim().toLowerCase(), name, role, active: true, created_at: now(), password };
  users.set(u.id, u);
  return u;
}
addUser(process.env.MOCK_AGENT_EMAIL ?? 'agent@example.com', 'Alex Agent', process.env.MOCK_AGENT_PASSWORD ?? 'agent-password', 'agent');
addUser('admin@example.com', 'Ada Admin', 'admin-password', 'admin');

/** @param {any} u */
const pub = (u) => ({ id: u.id, email: u.email, name: u.name, role: u.role, active: u.active, created_at: u.created_at });
/** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} body @param {Record<string,string>} headers */
function send(res, status, body, headers = {}) {
  const problem = status >= 400;
  res.writeHead(status, { 'Content-Type': problem ? 'application/problem+json' : 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
/** @param {any} res @param {number} status @param {string} detail @param {Record<string,string>} headers */
const fail = (res, status, detail, headers = {}) =>
  send(res, status, { type: 'about:blank', title: String(status), status, detail, request_id: randomUUID() }, headers);

/** @param {any} u */
function issue(u) {
  const token = randomBytes(16).toString('hex');
  const rt = randomBytes(16).toString('hex');
  access.set(token, u.id);
  refresh.set(rt, u.id);
  return {
    body: { user: pub(u), access_token: token, token_type: 'Bearer', expires_in: 900, refresh_token: rt },
    cookie: `docket_refresh=${rt}; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=1209600`,
  };
}
/** @param {any[]} list @param {URLSearchParams} q */
function page(list, q) {
  const limit = Number(q.get('limit') ?? 20);
  const start = Number(q.get('cursor') ?? 0);
  const items = list.slice(start, start + limit);
  return { items, next_cursor: start + limit < list.length ? String(start + limit) : null };
}
/** @param {any} t @param {any} u */
const canSee = (t, u) => u.role !== 'requester' || t.requester_id === u.id;
/** @param {string} ticket_id @param {string} actor_id @param {string} kind @param {any} data */
const event = (ticket_id, actor_id, kind, data) => events.push({ id: randomUUID(), ticket_id, actor_id, kind, data, created_at: now() });

/** @param {import('node:http').IncomingMessage} req */
async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
  const p = url.pathname;
  const m = req.method ?? 'GET';
  if (!p.startsWith('/api/')) {
    const file = path.join(dist, path.normalize(p).replace(/^\/+/, ''));
    const type = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.html': 'text/html', '.map': 'application/json' }[path.extname(file)];
    try {
      if (!file.startsWith(dist) || !type || p === '/') throw new Error('spa');
      const data = await readFile(file);
      res.writeHead(200, { 'Content-Type': type });
      return res.end(data);
    } catch {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(await readFile(path.join(dist, 'index.html')));
    }
  }
  const raw = await body(req);
  if (process.env.MOCK_LOG) console.log(`${m} ${req.url}`);
  if (AUTH_URL && /^\/api\/(auth\/|users|agents)/.test(p)) {
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    const upstream = await fetch(`${AUTH_URL}${req.url}`, { method: m, headers, body: raw.length ? raw : undefined, redirect: 'manual' });
    /** @type {Record<string, string | string[]>} */
    const out = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'set-cookie' && k !== 'content-encoding' && k !== 'content-length' && k !== 'transfer-encoding') out[k] = v;
    });
    const cookies = upstream.headers.getSetCookie();
    if (cookies.length) out['set-cookie'] = cookies;
    res.writeHead(upstream.status, out);
    return res.end(Buffer.from(await upstream.arrayBuffer()));
  }
  const json = () => (raw.length ? JSON.parse(raw.toString()) : {});
  const cookie = /docket_refresh=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];

  if (m === 'POST' && p === '/api/auth/register') {
    const b = json();
    if ([...users.values()].some((u) => u.email === String(b.email).trim().toLowerCase())) return fail(res, 409, 'An account with this email already exists.');
    if (!b.password || b.password.length < 8) return fail(res, 422, 'The password must be at least 8 characters.');
    const { body: out, cookie: c } = issue(addUser(b.email, b.name, b.password, 'requester'));
    return send(res, 201, out, { 'Set-Cookie': c });
  }
  if (m === 'POST' && p === '/api/auth/login') {
    const b = json();
    const u = [...users.values()].find((x) => x.email === String(b.email).trim().toLowerCase() && x.password === b.password);
    if (!u) return fail(res, 401, 'The email or password is incorrect.');
    if (!u.active) return fail(res, 403, 'This account has been deactivated.');
    const { body: out, cookie: c } = issue(u);
    return send(res, 200, out, { 'Set-Cookie': c });
  }
  if (m === 'POST' && p === '/api/auth/refresh') {
    const uid = cookie && refresh.get(cookie);
    if (!uid) return fail(res, 401, 'The refresh token is invalid, expired or revoked.');
    refresh.delete(/** @type {string} */ (cookie));
    const { body: out, cookie: c } = issue(users.get(uid));
    return send(res, 200, out, { 'Set-Cookie': c });
  }
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  let me = token ? users.get(access.get(token) ?? '') : undefined;
  if (!me && token && AUTH_URL) {
    try {
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
      if (claims.exp * 1000 > Date.now()) me = { id: claims.sub, role: claims.role };
    } catch {
      me = undefined;
    }
  }
  if (!me) return fail(res, 401, 'Sign in first.');
  const staff = me.role !== 'requester';

  if (m === 'POST' && p === '/api/auth/logout') {
    if (cookie) refresh.delete(cookie);
    res.writeHead(204, { 'Set-Cookie': 'docket_refresh=; Path=/api/auth; HttpOnly; SameSite=Strict; Max-Age=0' });
    return res.end();
  }
  if (m === 'GET' && p === '/api/auth/me') return send(res, 200, pub(me));
  if (m === 'GET' && p === '/api/agents') {
    if (!staff) return fail(res, 403, 'Only agents and admins may list assignees.');
    const items = [...users.values()].filter((u) => u.role !== 'requester' && u.active).map((u) => ({ id: u.id, name: u.name, email: u.email, role: u.role }));
    return send(res, 200, { items });
  }
  if (p === '/api/users' && m === 'GET') {
    if (me.role !== 'admin') return fail(res, 403, 'Only admins may list users.');
    return send(res, 200, page([...users.values()].map(pub), url.searchParams));
  }
  let hit = /^\/api\/users\/([^/]+)$/.exec(p);
  if (hit && m === 'PATCH') {
    if (me.role !== 'admin') return fail(res, 403, 'Only admins may change users.');
    const u = users.get(hit[1]);
    if (!u) return fail(res, 404, 'No such user.');
    Object.assign(u, json());
    return send(res, 200, pub(u));
  }
  if (p === '/api/tickets' && m === 'POST') {
    const b = json();
    if (!b.subject || b.subject.length > 200) return fail(res, 422, 'The subject must be 1 to 200 characters.');
    const t = { id: randomUUID(), subject: b.subject, description: b.description ?? '', status: 'open', priority: b.priority ?? 'normal', requester_id: me.id, assignee_id: null, version: 1, created_at: now(), updated_at: now() };
    tickets.unshift(t);
    event(t.id, me.id, 'created', {});
    return send(res, 201, t);
  }
  if (p === '/api/tickets' && m === 'GET') {
    const q = url.searchParams;
    const text = q.get('q')?.toLowerCase();
    const list = tickets.filter(
      (t) =>
        canSee(t, me) &&
        (!q.get('status') || t.status === q.get('status')) &&
        (!q.get('priority') || t.priority === q.get('priority')) &&
        (!q.get('assignee_id') || t.assignee_id === q.get('assignee_id')) &&
        (!text || `${t.subject} ${t.description}`.toLowerCase().includes(text)),
    );
    return send(res, 200, page(list, q));
  }
  hit = /^\/api\/tickets\/([^/]+)(\/comments|\/events|\/attachments)?$/.exec(p);
  if (hit) {
    const t = tickets.find((x) => x.id === hit?.[1]);
    if (!t || !canSee(t, me)) return fail(res, 404, 'Ticket not found.');
    const sub = hit[2];
    if (!sub && m === 'GET') return send(res, 200, t);
    if (!sub && m === 'PATCH') {
      const v = Number(String(req.headers['if-match'] ?? '').replace(/"/g, ''));
      if (v !== t.version) return fail(res, 412, 'The ticket has changed since you loaded it.');
      const b = json();
      for (const field of ['status', 'priority', 'assignee_id']) {
        if (field in b && b[field] !== t[field]) {
          if (!staff && !(field === 'status' && b.status === 'closed')) return fail(res, 403, `You may not change ${field}.`);
          event(t.id, me.id, field === 'assignee_id' ? 'assignee_changed' : `${field}_changed`, { field, from: t[field], to: b[field] });
          t[field] = b[field];
        }
      }
      t.version += 1;
      t.updated_at = now();
      return send(res, 200, t);
    }
    if (!sub && m === 'DELETE') {
      if (me.role !== 'admin') return fail(res, 403, 'Only admins may delete tickets.');
      tickets.splice(tickets.indexOf(t), 1);
      res.writeHead(204);
      return res.end();
    }
    if (sub === '/comments' && m === 'POST') {
      const b = json();
      if (b.internal && !staff) return fail(res, 403, 'Only agents and admins may post internal notes.');
      const c = { id: randomUUID(), ticket_id: t.id, author_id: me.id, body: b.body, internal: Boolean(b.internal), created_at: now() };
      comments.push(c);
      event(t.id, me.id, 'comment_added', { comment_id: c.id, internal: c.internal });
      return send(res, 201, c);
    }
    if (sub === '/comments' && m === 'GET') return send(res, 200, page(comments.filter((c) => c.ticket_id === t.id && (staff || !c.internal)), url.searchParams));
    if (sub === '/events' && m === 'GET') return send(res, 200, page(events.filter((e) => e.ticket_id === t.id && (staff || !e.data?.internal)), url.searchParams));
    if (sub === '/attachments' && m === 'GET') return send(res, 200, page(attachments.filter((a) => a.ticket_id === t.id), url.searchParams));
    if (sub === '/attachments' && m === 'POST') {
      const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: raw }).formData();
      const files = /** @type {File[]} */ (form.getAll('file'));
      const stored = [];
      for (const f of files) {
        const bytes = Buffer.from(await f.arrayBuffer());
        if (bytes.length > MAX_UPLOAD) return fail(res, 413, `The file is larger than the limit of ${MAX_UPLOAD} bytes.`);
        if (!(bytes[0] === 0x89 && bytes[1] === 0x50) && !(bytes[0] === 0xff && bytes[1] === 0xd8) && bytes.subarray(0, 4).toString() !== '%PDF')
          return fail(res, 415, 'This type of file is not allowed.');
        const a = { id: randomUUID(), ticket_id: t.id, filename: f.name, content_type: f.type, size: bytes.length, uploaded_by: me.id, created_at: now() };
        attachments.push(a);
        blobs.set(a.id, bytes);
        event(t.id, me.id, 'attachment_added', { attachment_id: a.id, filename: a.filename });
        stored.push(a);
      }
      return send(res, 201, stored);
    }
  }
  if (p === '/api/attachments/policy' && m === 'GET') {
    // What this mock's upload below accepts (the real service builds its answer from its own check).
    const type = (/** @type {string} */ name, /** @type {string} */ media_type, /** @type {string[]} */ ...extensions) => ({ name, media_type, extensions });
    return send(res, 200, {
      max_file_bytes: MAX_UPLOAD,
      max_files: 5,
      types: [type('JPEG', 'image/jpeg', 'jpg', 'jpeg', 'jpe'), type('PNG', 'image/png', 'png'), type('PDF', 'application/pdf', 'pdf')],
    });
  }
  hit = /^\/api\/attachments\/([^/]+)(\/download)?$/.exec(p);
  if (hit) {
    const a = attachments.find((x) => x.id === hit?.[1]);
    const t = a && tickets.find((x) => x.id === a.ticket_id);
    if (!a || !t || !canSee(t, me)) return fail(res, 404, 'Attachment not found.');
    if (hit[2] && m === 'GET') {
      res.writeHead(200, { 'Content-Type': a.content_type, 'Content-Disposition': `attachment; filename="${a.filename}"` });
      return res.end(blobs.get(a.id));
    }
    if (!hit[2] && m === 'DELETE') {
      attachments.splice(attachments.indexOf(a), 1);
      event(t.id, me.id, 'attachment_removed', { attachment_id: a.id, filename: a.filename });
      res.writeHead(204);
      return res.end();
    }
  }
  return fail(res, 404, `No route for ${m} ${p}`);
});
server.listen(PORT, '127.0.0.1', () => console.log(`mock gateway on http://127.0.0.1:${PORT}`));
