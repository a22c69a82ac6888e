#!/usr/bin/env node
// Browser test of /docs (Swagger UI) against a running Docket stack, in Debian's Chromium
// driven by playwright-core (no browser download).
//
//   E2E_BASE_URL       the gateway (default http://127.0.0.1:8080)
//   E2E_SERVICE_DOCS   optional, comma separated: each service's own /docs URL, checked to answer
//   CHROMIUM_PATH      default /usr/bin/chromium
//
// Opens /docs under the gateway's own CSP (any violation fails), checks that each of the three
// documents renders every operation it has (switching with the definition selector), then
// authorizes with a fresh user's bearer token and runs "Try it out" through the gateway:
// GET /api/auth/me → 200 with that user, and an upload (POST /api/tickets/{id}/attachments,
// a PNG) → 201. axe-core checks each document's overview (WCAG 2.1 A/AA; Swagger UI's nested
// buttons excepted). Screenshots go to e2e-artifacts/docs-*.png.
import { chromium } from 'playwright-core';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { axeViolations, describeViolations } from './axe.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.resolve(here, '..', 'e2e-artifacts');
const BASE = (process.env.E2E_BASE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS ?? 15000);
const SERVICE_DOCS = (process.env.E2E_SERVICE_DOCS ?? '').split(',').filter(Boolean);
const DOCUMENTS = ['auth', 'tickets', 'attachments'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** @type {string[]} */
const results = [];
let current = 'start';
/** @param {string} name @param {() => Promise<void>} fn */
async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  await fn();
  results.push(name);
  console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
}

/** @param {string} url @param {RequestInit} [init] */
async function api(url, init) {
  const resp = await fetch(`${BASE}${url}`, init);
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${resp.status} ${text}`);
  return JSON.parse(text);
}

// A 1×1 PNG: enough for the attachments service's sniffing.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

await mkdir(artifacts, { recursive: true });
const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(TIMEOUT);
const page = await context.newPage();
/** @type {string[]} */
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e}`));
page.on('console', (m) => {
  if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
});
// Nothing leaves this machine: every request the page makes goes to the gateway.
page.on('request', (r) => {
  if (!r.url().startsWith(BASE) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push(`off-origin request: ${r.url()}`);
});

/**
 * A screenshot: the whole page, or the screen around `at` (an answer in a tall page).
 * @param {string} name @param {import('playwright-core').Locator} [at]
 */
async function shot(name, at) {
  if (at) await at.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await page.screenshot({ path: path.join(artifacts, `docs-${name}.png`), fullPage: !at });
}

/** The operations a document has, as "METHOD /path". @param {any} doc */
const operationsOf = (doc) =>
  Object.entries(doc.paths).flatMap(([p, item]) =>
    Object.keys(/** @type {object} */ (item))
      .filter((m) => METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${p}`),
  );

/** The operations Swagger UI shows now, as "METHOD /path". */
const shownOperations = () =>
  page.$$eval('.opblock', (blocks) =>
    blocks.map((b) => {
      const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '?';
      const p = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?';
      return `${method.toUpperCase()} ${p}`;
    }),
  );

/** Authorize in the open document (Swagger UI forgets it when the document changes). @param {string} token */
async function authorize(token) {
  await page.locator('.auth-wrapper .btn.authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('input').first().fill(token);
  await dialog.locator('.auth-btn-wrapper .modal-btn.authorize').click();
  await dialog.locator('.auth-btn-wrapper .btn-done').click();
}

/** @param {string} method @param {string} route */
const operation = (method, route) => page.locator(`.opblock-${method}:has(.opblock-summary-path[data-path="${route}"])`);

let failed = false;
console.log(`docs e2e against ${BASE}/docs`);
try {
  const email = `docs-${runId}@example.com`;
  const who = await api('/api/auth/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: `pw-${runId}-long`, name: 'Dora Docs' }),
  });
  const token = who.access_token;

  await step('/docs answers under the gateway CSP, with no inline script allowed', async () => {
    const resp = await page.goto(`${BASE}/docs`);
    if (!resp || resp.status() !== 200) throw new Error(`/docs answered ${resp?.status()}`);
    const csp = resp.headers()['content-security-policy'] ?? '';
    const scripts = csp.split(';').find((d) => d.trim().startsWith('script-src')) ?? '';
    if (!scripts.includes("'self'") || scripts.includes('unsafe')) throw new Error(`script-src is "${scripts.trim()}"`);
  });

  for (const name of DOCUMENTS) {
    await step(`the ${name} document renders all its operations`, async () => {
      const doc = await api(`/openapi/${name}.json`);
      const want = operationsOf(doc);
      const select = page.locator('.download-url-wrapper select');
      await select.waitFor();
      if ((await select.inputValue()) !== name) {
        const label = await select.locator('option', { hasText: name }).first().textContent();
        await select.selectOption({ label: label ?? name });
      }
      await page.locator('.info .title', { hasText: doc.info.title }).waitFor();
      await page.locator('.opblock').first().waitFor();
      await page.waitForFunction((n) => document.querySelectorAll('.opblock').length >= n, want.length);
      const shown = await shownOperations();
      const missing = want.filter((op) => !shown.includes(op));
      if (missing.length) throw new Error(`not shown: ${missing.join(', ')}`);
      await shot(name);
      // WCAG 2.1 A/AA on the document's overview. One finding is allowed: Swagger UI's own
      // markup nests each operation's buttons (axe's nested-interactive), which this page cannot
      // change; its colours it can (docs.css), so anything else fails.
      const violations = await axeViolations(page);
      const found = violations.map((v) => `${v.id} (${v.nodes.length})`).join(', ') || 'none';
      console.log(`    axe-core on the ${name} document: ${found}`);
      const others = violations.filter((v) => v.id !== 'nested-interactive');
      if (others.length) throw new Error(`accessibility:\n${describeViolations(name, others)}`);
    });
  }

  await step('Authorize with a bearer token, then Try it out: GET /api/auth/me → 200', async () => {
    await page.locator('.download-url-wrapper select').selectOption({ label: 'auth' });
    await operation('get', '/api/auth/me').waitFor();
    await authorize(token);
    const me = operation('get', '/api/auth/me');
    await me.locator('.opblock-summary-control').click();
    await me.locator('.try-out__btn').click();
    const answered = page.waitForResponse((r) => r.url() === `${BASE}/api/auth/me`);
    await me.locator('.btn.execute').click();
    const resp = await answered;
    if (resp.status() !== 200) throw new Error(`GET /api/auth/me through /docs answered ${resp.status()}`);
    if ((await resp.request().headerValue('authorization')) !== `Bearer ${token}`) throw new Error('the token was not sent');
    await me.locator('.live-responses-table .response-col_status', { hasText: '200' }).waitFor();
    await me.locator('.live-responses-table').getByText(email).first().waitFor();
    await shot('auth-me-200', me.locator('.live-responses-table').first());
  });

  await step('Try it out uploads a file: POST /api/tickets/{id}/attachments → 201', async () => {
    const ticket = await api('/api/tickets', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ subject: `Docs upload ${runId}` }),
    });
    const file = path.join(tmpdir(), `docs-e2e-${process.pid}.png`);
    await writeFile(file, PNG);
    await page.locator('.download-url-wrapper select').selectOption({ label: 'attachments' });
    const upload = operation('post', '/api/tickets/{id}/attachments');
    await upload.waitFor();
    await authorize(token);
    await upload.locator('.opblock-summary-control').click();
    await upload.locator('.try-out__btn').click();
    await upload.locator('tr[data-param-name="id"] input').fill(ticket.id);
    const fileInput = upload.locator('.opblock-body input[type="file"]');
    if ((await fileInput.count()) === 0) await upload.getByRole('button', { name: 'Add item' }).click();
    await fileInput.first().setInputFiles(file);
    const answered = page.waitForResponse((r) => r.url().endsWith(`/api/tickets/${ticket.id}/attachments`) && r.request().method() === 'POST');
    await upload.locator('.btn.execute').click();
    const resp = await answered;
    if (resp.status() !== 201) throw new Error(`the upload through /docs answered ${resp.status()}: ${await resp.text()}`);
    const stored = await api(`/api/tickets/${ticket.id}/attachments`, { headers: { Authorization: `Bearer ${token}` } });
    if (stored.items.length !== 1 || stored.items[0].size !== PNG.length) throw new Error(`stored: ${JSON.stringify(stored.items)}`);
    await upload.locator('.live-responses-table .response-col_status', { hasText: '201' }).waitFor();
    await shot('upload-201', upload.locator('.live-responses-table').first());
  });

  if (SERVICE_DOCS.length) {
    await step(`each service serves its own /docs (${SERVICE_DOCS.length})`, async () => {
      for (const url of SERVICE_DOCS) {
        const resp = await fetch(url);
        const html = await resp.text();
        if (resp.status !== 200 || !/swagger/i.test(html)) throw new Error(`${url}: ${resp.status}`);
      }
    });
  }
  if (problems.length) throw new Error(problems.join('; '));
} catch (error) {
  failed = true;
  console.error(`  ✗ ${current}: ${error instanceof Error ? error.message : error}`);
  if (problems.length) console.error(`    also: ${problems.join('; ')}`);
  await page.screenshot({ path: path.join(artifacts, 'docs-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(`docs e2e: ${results.length} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
