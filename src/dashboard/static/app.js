// The gateway dashboard: vanilla JavaScript, no build step, no dependencies. Every value from the server is put
// into the page as text (textContent), never as HTML. The admin key lives in sessionStorage for this tab only.
'use strict';

const STORE_KEY = 'odgw.adminKey';
const REFRESH_MS = 5000;
const USAGE_REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

let timer = null;
let lastUsage = 0;

// ── talking to the gateway ─────────────────────────────────────────────────────────────────────────────────

class AuthError extends Error {}

async function api(method, path, body) {
  const key = sessionStorage.getItem(STORE_KEY);
  if (!key) throw new AuthError('not signed in');
  const init = { method, headers: { authorization: `Bearer ${key}`, accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (res.status === 401) throw new AuthError((data && data.error && data.error.message) || 'the admin key was refused');
  if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
  return data;
}

// ── sign in / out ──────────────────────────────────────────────────────────────────────────────────────────

function showSignIn(message) {
  stopRefresh();
  sessionStorage.removeItem(STORE_KEY);
  $('app').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('status').textContent = '';
  $('admin-key').focus();
}

async function signIn(key) {
  sessionStorage.setItem(STORE_KEY, key);
  try {
    await api('GET', '/admin/keys');
  } catch (err) {
    showSignIn(err instanceof AuthError ? 'That admin key was refused.' : `Could not reach the gateway: ${err.message}`);
    return;
  }
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  lastUsage = 0;
  await refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

function stopRefresh() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

// ── refresh ────────────────────────────────────────────────────────────────────────────────────────────────

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const wantUsage = Date.now() - lastUsage > USAGE_REFRESH_MS;
    const [keys, series, errors, usage] = await Promise.all([
      api('GET', '/admin/keys'),
      api('GET', '/admin/stats/timeseries'),
      api('GET', '/admin/errors/recent?limit=50'),
      wantUsage ? api('GET', `/admin/usage?days=${$('usage-days').value}`) : null,
    ]);
    renderKeys(keys);
    renderSummary(keys, series);
    renderCharts(series.points);
    renderErrors(errors.data);
    if (usage) {
      renderUsage(usage);
      lastUsage = Date.now();
    }
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err instanceof AuthError) showSignIn('Your admin key was refused; sign in again.');
    else $('status').textContent = `refresh failed: ${err.message}`;
  } finally {
    refreshing = false;
  }
}

// ── rendering helpers ──────────────────────────────────────────────────────────────────────────────────────

function el(tag, opts = {}, children = []) {
  const e = document.createElement(tag);
  if (opts.text !== undefined && opts.text !== null) e.textContent = String(opts.text);
  if (opts.className) e.className = opts.className;
  if (opts.title) e.title = opts.title;
  if (opts.data) for (const [k, v] of Object.entries(opts.data)) e.dataset[k] = v;
  for (const c of children) e.appendChild(c);
  return e;
}

/** A table cell carrying its column's name, so the phone layout can label it. */
function cell(table, index, opts, children) {
  const th = table.tHead.rows[0].cells[index];
  const td = el('td', opts, children);
  td.dataset.label = th ? th.textContent : '';
  return td;
}

function fillBody(table, rows, emptyText) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const td = el('td', { text: emptyText, className: 'empty' });
    td.colSpan = table.tHead.rows[0].cells.length;
    body.appendChild(el('tr', {}, [td]));
  }
}

const fmt = new Intl.NumberFormat();
const num = (n) => (n === null || n === undefined ? '–' : fmt.format(n));

function ago(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

// ── key pool ───────────────────────────────────────────────────────────────────────────────────────────────

function renderKeys(list) {
  const table = $('keys');
  const rows = list.data.map((k) => {
    const name = el('td', {}, [el('code', { text: k.fingerprint })]);
    name.dataset.label = 'Key';
    if (k.label) name.appendChild(el('div', { text: k.label, className: 'muted' }));
    const actions = [];
    if (k.state === 'disabled') actions.push(button('Enable', 'enable', k.fingerprint));
    else actions.push(button('Disable', 'disable', k.fingerprint));
    actions.push(button('Test', 'test', k.fingerprint));
    actions.push(button('Remove', 'remove', k.fingerprint, 'danger'));
    return el('tr', { data: { fp: k.fingerprint, state: k.state } }, [
      name,
      cell(table, 1, { className: 'state' }, [el('span', { text: k.state, className: `badge ${k.state}` })]),
      cell(table, 2, { text: k.reason || '–', title: k.lastError || '' }),
      cell(table, 3, { text: ago(k.since), title: k.since }),
      cell(table, 4, { text: k.until ? ago(k.until) : '–', title: k.until || '' }),
      cell(table, 5, { text: num(k.inFlight), className: 'num' }),
      cell(table, 6, { text: num(k.successes), className: 'num' }),
      cell(table, 7, { text: num(k.failures), className: 'num' }),
      cell(table, 8, { text: k.lastLatencyMs === null ? '–' : `${num(Math.round(k.lastLatencyMs))} ms`, className: 'num' }),
      cell(table, 9, { className: 'actions' }, actions),
    ]);
  });
  fillBody(table, rows, 'No keys in the pool.');
  const c = list.circuit;
  $('circuit').textContent =
    c && c.phase !== 'closed'
      ? `Upstream circuit ${c.phase.replace('_', '-')}: ${c.reason || c.cls || ''}${c.until ? ` (until ${new Date(c.until).toLocaleTimeString()})` : ''}`
      : 'Upstream circuit closed (healthy).';
}

function button(label, action, fp, extra) {
  const b = el('button', { text: label, className: extra || '', data: { action, fp } });
  b.type = 'button';
  return b;
}

async function keyAction(action, fp, btn) {
  const msg = $('key-message');
  if (action === 'remove' && !confirm(`Remove ${fp} from the pool?`)) return;
  btn.disabled = true;
  msg.className = '';
  msg.textContent = `${action} ${fp}…`;
  try {
    if (action === 'remove') {
      await api('DELETE', `/admin/keys/${encodeURIComponent(fp)}`);
      msg.textContent = `${fp} removed.`;
    } else if (action === 'test') {
      const r = await api('POST', `/admin/keys/${encodeURIComponent(fp)}/test`);
      msg.textContent = `${fp} test: ${describeProbe(r.outcome)}; now ${r.key.state}.`;
    } else {
      const k = await api('POST', `/admin/keys/${encodeURIComponent(fp)}/${action}`);
      msg.textContent = `${fp} is now ${k.state}.`;
    }
  } catch (err) {
    if (err instanceof AuthError) return showSignIn('Your admin key was refused; sign in again.');
    msg.className = 'error';
    msg.textContent = `${action} ${fp} failed: ${err.message}`;
  }
  await refresh();
}

function describeProbe(outcome) {
  if (!outcome) return 'no answer';
  if (outcome.ok) return `ok${outcome.latencyMs !== undefined ? ` in ${Math.round(outcome.latencyMs)} ms` : ''}`;
  return `failed${outcome.reason ? ` (${outcome.reason})` : outcome.failure ? ` (${outcome.failure})` : ''}`;
}

async function addKey(ev) {
  ev.preventDefault();
  const msg = $('key-message');
  const key = $('new-key').value.trim();
  if (!key) return;
  const body = { key };
  const label = $('new-label').value.trim();
  const weight = $('new-weight').value.trim();
  if (label) body.label = label;
  if (weight) body.weight = Number(weight);
  msg.className = '';
  try {
    const k = await api('POST', '/admin/keys', body);
    msg.textContent = `Added ${k.fingerprint}.`;
    $('add-key-form').reset();
  } catch (err) {
    if (err instanceof AuthError) return showSignIn('Your admin key was refused; sign in again.');
    msg.className = 'error';
    msg.textContent = `Could not add the key: ${err.message}`;
  }
  await refresh();
}

// ── summary and charts ─────────────────────────────────────────────────────────────────────────────────────

function renderSummary(keys, series) {
  const usable = keys.data.filter((k) => k.state === 'active' || k.state === 'probation').length;
  let requests = 0;
  let errors = 0;
  let tokens = 0;
  let p95 = null;
  for (const p of series.points) {
    requests += p.requests;
    errors += p.clientErrors + p.serverErrors;
    tokens += p.tokensIn + p.tokensOut;
    if (p.p95Ms !== null) p95 = Math.max(p95 ?? 0, p.p95Ms);
  }
  const card = (label, value) => el('div', { className: 'card' }, [el('div', { text: value, className: 'value' }), el('div', { text: label, className: 'label' })]);
  $('summary').replaceChildren(
    card('usable keys', `${usable} / ${keys.data.length}`),
    card('requests, last hour', num(requests)),
    card('errors, last hour', num(errors)),
    card('tokens, last hour', num(tokens)),
    card('worst p95, last hour', p95 === null ? '–' : `≤ ${num(p95)} ms`),
  );
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const H = 140;
const PAD = { left: 34, right: 4, top: 6, bottom: 16 };
let W = 600;

/** Draws the axes in the svg's own pixel size (so text is never stretched); returns the scales. */
function frame(svg, max, points) {
  W = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 600);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const bottom = H - PAD.bottom;
  svg.appendChild(svgEl('line', { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, class: 'axis' }));
  svg.appendChild(svgEl('line', { x1: PAD.left, y1: PAD.top, x2: W - PAD.right, y2: PAD.top, class: 'axis' }));
  svg.appendChild(svgEl('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end' }, num(max)));
  svg.appendChild(svgEl('text', { x: PAD.left - 4, y: bottom, 'text-anchor': 'end' }, '0'));
  if (points.length > 0) {
    const first = new Date(points[0].t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    svg.appendChild(svgEl('text', { x: PAD.left, y: H - 3 }, first));
    svg.appendChild(svgEl('text', { x: W - PAD.right, y: H - 3, 'text-anchor': 'end' }, 'now'));
  }
  const slot = (W - PAD.left - PAD.right) / Math.max(1, points.length);
  const y = (v) => bottom - (v / max) * (bottom - PAD.top);
  return { slot, y, bottom };
}

/** Stacked bars, one per minute; `stacks` is a list of [field, class]. */
function bars(svg, points, stacks) {
  const max = niceMax(Math.max(1, ...points.map((p) => stacks.reduce((s, [f]) => s + p[f], 0))));
  const { slot, y, bottom } = frame(svg, max, points);
  points.forEach((p, i) => {
    let base = bottom;
    for (const [field, cls] of stacks) {
      const v = p[field];
      if (!v) continue;
      const top = y(v) - (bottom - base);
      svg.appendChild(svgEl('rect', { x: PAD.left + i * slot + 0.5, y: top, width: Math.max(1, slot - 1), height: base - top, class: cls }));
      base = top;
    }
  });
}

/** Lines, one per field; minutes without a value break the line. */
function lines(svg, points, fields) {
  const values = points.flatMap((p) => fields.map(([f]) => p[f]).filter((v) => v !== null));
  const max = niceMax(Math.max(1, ...values));
  const { slot, y } = frame(svg, max, points);
  for (const [field, cls] of fields) {
    let d = '';
    let pen = false;
    points.forEach((p, i) => {
      const v = p[field];
      if (v === null) { pen = false; return; }
      const x = PAD.left + i * slot + slot / 2;
      d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
      svg.appendChild(svgEl('circle', { cx: x.toFixed(1), cy: y(v).toFixed(1), r: 2, class: `dot ${cls}` }));
    });
    if (d) svg.appendChild(svgEl('path', { d, class: `line ${cls}` }));
  }
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return v;
}

let lastPoints = null;
function renderCharts(points) {
  lastPoints = points;
  const withOk = points.map((p) => ({ ...p, ok: p.requests - p.clientErrors - p.serverErrors }));
  bars($('chart-traffic'), withOk, [['ok', 'ok'], ['clientErrors', 'c4'], ['serverErrors', 'c5']]);
  lines($('chart-latency'), points, [['avgMs', 'avg'], ['p95Ms', 'p95'], ['avgTtftMs', 'ttft']]);
  bars($('chart-errors'), points, [['clientErrors', 'c4'], ['serverErrors', 'c5']]);
}

// ── usage and errors ───────────────────────────────────────────────────────────────────────────────────────

function renderUsage(u) {
  $('usage-totals').textContent = `Since ${u.since} (UTC): ${num(u.totals.requests)} requests, ${num(u.totals.tokensIn)} tokens in, ${num(u.totals.tokensOut)} tokens out, ${num(u.totals.errors)} errors.`;
  const rows = (table, list, field) =>
    list.map((r) =>
      el('tr', {}, [
        cell(table, 0, {}, [el('code', { text: r[field] })]),
        cell(table, 1, { text: num(r.requests), className: 'num' }),
        cell(table, 2, { text: num(r.tokensIn), className: 'num' }),
        cell(table, 3, { text: num(r.tokensOut), className: 'num' }),
        cell(table, 4, { text: num(r.errors), className: 'num' }),
      ]),
    );
  fillBody($('usage-models'), rows($('usage-models'), u.byModel, 'model'), 'No usage yet.');
  fillBody($('usage-clients'), rows($('usage-clients'), u.byClient, 'client'), 'No usage yet.');
}

function renderErrors(list) {
  const table = $('errors');
  const rows = list.map((e) =>
    el('tr', {}, [
      cell(table, 0, { text: new Date(e.at).toLocaleTimeString(), title: e.at }),
      cell(table, 1, {}, [el('code', { text: e.requestId })]),
      cell(table, 2, { text: e.status }),
      cell(table, 3, { text: e.code || '–' }),
      cell(table, 4, { text: e.model || '–' }),
      cell(table, 5, { text: e.upstreamKey || '–' }),
      cell(table, 6, { text: `${e.method} ${e.path}` }),
    ]),
  );
  fillBody(table, rows, 'No errors in the recent past.');
}

// ── wiring ─────────────────────────────────────────────────────────────────────────────────────────────────

document.addEventListener('DOMContentLoaded', () => {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('admin-key').value.trim();
    $('admin-key').value = '';
    if (key) void signIn(key);
  });
  $('signout').addEventListener('click', () => showSignIn('Signed out.'));
  $('add-key-form').addEventListener('submit', addKey);
  $('keys').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-action]');
    if (btn) void keyAction(btn.dataset.action, btn.dataset.fp, btn);
  });
  $('usage-days').addEventListener('change', () => {
    lastUsage = 0;
    void refresh();
  });
  window.addEventListener('resize', () => {
    if (lastPoints && !$('app').hidden) renderCharts(lastPoints);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer !== null) void refresh();
  });
  const saved = sessionStorage.getItem(STORE_KEY);
  if (saved) void signIn(saved);
  else showSignIn('');
});
