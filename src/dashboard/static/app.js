// The gateway dashboard: vanilla JavaScript, no build step, no dependencies. Every value from the server is put
// into the page as text (textContent), never as HTML. The admin key lives in sessionStorage for this tab only.
// The page speaks English and Simplified Chinese: one dictionary per language below, one t(key, params).
'use strict';

const STORE_KEY = 'odgw.adminKey';
const LANG_KEY = 'odgw.lang';
const REFRESH_MS = 5000;
const USAGE_REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

let timer = null;
let lastUsage = 0;

// ── languages ──────────────────────────────────────────────────────────────────────────────────────────────
// Static text in index.html carries data-i18n (its text), data-i18n-placeholder or data-i18n-aria-label (an
// attribute); the English there is the same as in I18N.en. Text from the server (key reasons, model names,
// error messages, request ids) is shown as it comes. {name} in a string is filled from t's params: a number is
// formatted for the language, a Date as a time of day, a function is called first (so a message can be told
// again in another language).

const I18N = {
  en: {
    'page.title': 'Gateway dashboard',
    'page.heading': 'OnDemand gateway',
    'lang.group': 'Language',
    signout: 'Sign out',
    'signin.heading': 'Sign in',
    'signin.help': "Enter the gateway's admin key (ADMIN_KEY). It is kept in this tab only (sessionStorage).",
    'signin.label': 'Admin key',
    'signin.submit': 'Sign in',
    'signin.refused': 'That admin key was refused.',
    'signin.unreachable': 'Could not reach the gateway: {error}',
    'signin.again': 'Your admin key was refused; sign in again.',
    'signin.out': 'Signed out.',
    'status.updated': 'updated {time}',
    'status.failed': 'refresh failed: {error}',
    'error.network': 'network error',
    'summary.label': 'Summary',
    'summary.usable': 'usable keys',
    'summary.requests': 'requests, last hour',
    'summary.errors': 'errors, last hour',
    'summary.tokens': 'tokens, last hour',
    'summary.p95': 'worst p95, last hour',
    'keys.heading': 'Key pool',
    'keys.col.key': 'Key',
    'keys.col.state': 'State',
    'keys.col.reason': 'Reason',
    'keys.col.since': 'Since',
    'keys.col.until': 'Until',
    'keys.col.inFlight': 'In flight',
    'keys.col.ok': 'OK',
    'keys.col.failed': 'Failed',
    'keys.col.latency': 'Latency',
    'keys.col.actions': 'Actions',
    'keys.empty': 'No keys in the pool.',
    'state.active': 'active',
    'state.probation': 'probation',
    'state.cooling': 'cooling',
    'state.degraded': 'degraded',
    'state.dead': 'dead',
    'state.disabled': 'disabled',
    'circuit.closed': 'Upstream circuit closed (healthy).',
    'circuit.tripped': 'Upstream circuit {phase}: {reason}{until}',
    'circuit.phase.open': 'open',
    'circuit.phase.half_open': 'half-open',
    'circuit.until': ' (until {time})',
    'action.enable': 'Enable',
    'action.disable': 'Disable',
    'action.test': 'Test',
    'action.remove': 'Remove',
    'verb.enable': 'enable',
    'verb.disable': 'disable',
    'verb.test': 'test',
    'verb.remove': 'remove',
    'confirm.remove': 'Remove {fp} from the pool?',
    'msg.working': '{action} {fp}…',
    'msg.removed': '{fp} removed.',
    'msg.tested': '{fp} test: {result}; now {state}.',
    'msg.state': '{fp} is now {state}.',
    'msg.failed': '{action} {fp} failed: {error}',
    'msg.added': 'Added {fp}.',
    'msg.addFailed': 'Could not add the key: {error}',
    'probe.none': 'no answer',
    'probe.ok': 'ok',
    'probe.okIn': 'ok in {ms} ms',
    'probe.failed': 'failed',
    'probe.failedWhy': 'failed ({reason})',
    'add.key': 'New OnDemand API key',
    'add.label': 'Label (optional)',
    'add.weight': 'Weight',
    'add.submit': 'Add key',
    'charts.heading': 'Last hour',
    'chart.traffic': 'Requests per minute',
    'chart.latency': 'Latency (ms)',
    'chart.latency.label': 'Latency per minute',
    'chart.errors': 'Errors per minute',
    'chart.now': 'now',
    'legend.ok': 'ok',
    'legend.avg': 'avg',
    'legend.ttft': 'first token',
    'usage.heading': 'Usage',
    'usage.days': 'Days',
    'usage.days.1': 'today',
    'usage.days.7': '7 days',
    'usage.days.30': '30 days',
    'usage.totals': 'Since {since} (UTC): {requests} requests, {tokensIn} tokens in, {tokensOut} tokens out, {errors} errors.',
    'usage.byModel': 'By model',
    'usage.byClient': 'By client key',
    'usage.col.model': 'Model',
    'usage.col.client': 'Client',
    'usage.col.requests': 'Requests',
    'usage.col.tokensIn': 'Tokens in',
    'usage.col.tokensOut': 'Tokens out',
    'usage.col.errors': 'Errors',
    'usage.empty': 'No usage yet.',
    'stored.heading': 'Stored responses and conversations',
    'stored.counts': 'Stored responses: {responses}; conversations: {conversations}; {size} of JSON.',
    'stored.kept': 'Kept {days} days after their last use; at most {max} per turn.',
    'stored.forever': 'Kept until deleted; at most {max} per turn.',
    'stored.off': 'Storing is off (RESPONSES_STORE=false): nothing is kept.',
    'stored.continuation.on': 'Turns continue the OnDemand session that answered the previous turn where they can (SESSION_CONTINUATION).',
    'stored.continuation.off': 'Every turn replays the conversation into a fresh OnDemand session (SESSION_CONTINUATION off).',
    'stored.unavailable': 'Stored state is unavailable: {error}',
    'errors.heading': 'Recent errors',
    'errors.col.time': 'Time',
    'errors.col.requestId': 'Request id',
    'errors.col.status': 'Status',
    'errors.col.code': 'Code',
    'errors.col.model': 'Model',
    'errors.col.key': 'Key',
    'errors.col.path': 'Path',
    'errors.empty': 'No errors in the recent past.',
    'time.ago.s': '{n}s ago',
    'time.ago.m': '{n}m ago',
    'time.ago.h': '{n}h ago',
    'time.ago.d': '{n}d ago',
    'time.in.s': 'in {n}s',
    'time.in.m': 'in {n}m',
    'time.in.h': 'in {n}h',
    'time.in.d': 'in {n}d',
  },
  'zh-CN': {
    'page.title': '网关控制台',
    'page.heading': 'OnDemand 网关',
    'lang.group': '语言',
    signout: '退出登录',
    'signin.heading': '登录',
    'signin.help': '请输入网关的管理密钥（ADMIN_KEY）。它只保存在当前标签页中（sessionStorage）。',
    'signin.label': '管理密钥',
    'signin.submit': '登录',
    'signin.refused': '管理密钥被拒绝。',
    'signin.unreachable': '无法连接网关：{error}',
    'signin.again': '管理密钥已被拒绝，请重新登录。',
    'signin.out': '已退出登录。',
    'status.updated': '更新于 {time}',
    'status.failed': '刷新失败：{error}',
    'error.network': '网络错误',
    'summary.label': '概览',
    'summary.usable': '可用密钥',
    'summary.requests': '近一小时请求数',
    'summary.errors': '近一小时错误数',
    'summary.tokens': '近一小时令牌数',
    'summary.p95': '近一小时 p95 峰值',
    'keys.heading': '密钥池',
    'keys.col.key': '密钥',
    'keys.col.state': '状态',
    'keys.col.reason': '原因',
    'keys.col.since': '开始于',
    'keys.col.until': '持续至',
    'keys.col.inFlight': '进行中',
    'keys.col.ok': '成功',
    'keys.col.failed': '失败',
    'keys.col.latency': '延迟',
    'keys.col.actions': '操作',
    'keys.empty': '密钥池中没有密钥。',
    'state.active': '正常',
    'state.probation': '观察期',
    'state.cooling': '冷却中',
    'state.degraded': '降级',
    'state.dead': '失效',
    'state.disabled': '已禁用',
    'circuit.closed': '上游熔断器闭合（正常）。',
    'circuit.tripped': '上游{phase}：{reason}{until}',
    'circuit.phase.open': '已熔断',
    'circuit.phase.half_open': '熔断半开（试探中）',
    'circuit.until': '（持续至 {time}）',
    'action.enable': '启用',
    'action.disable': '禁用',
    'action.test': '测试',
    'action.remove': '移除',
    'verb.enable': '启用',
    'verb.disable': '禁用',
    'verb.test': '测试',
    'verb.remove': '移除',
    'confirm.remove': '确定要从密钥池中移除 {fp} 吗？',
    'msg.working': '正在{action} {fp}…',
    'msg.removed': '已移除 {fp}。',
    'msg.tested': '{fp} 测试：{result}；当前状态：{state}。',
    'msg.state': '{fp} 当前状态：{state}。',
    'msg.failed': '{action} {fp} 失败：{error}',
    'msg.added': '已添加 {fp}。',
    'msg.addFailed': '无法添加密钥：{error}',
    'probe.none': '无响应',
    'probe.ok': '成功',
    'probe.okIn': '成功，耗时 {ms} ms',
    'probe.failed': '失败',
    'probe.failedWhy': '失败（{reason}）',
    'add.key': '新的 OnDemand API 密钥',
    'add.label': '备注（可选）',
    'add.weight': '权重',
    'add.submit': '添加密钥',
    'charts.heading': '最近一小时',
    'chart.traffic': '每分钟请求数',
    'chart.latency': '延迟（ms）',
    'chart.latency.label': '每分钟延迟',
    'chart.errors': '每分钟错误数',
    'chart.now': '现在',
    'legend.ok': '成功',
    'legend.avg': '平均',
    'legend.ttft': '首令牌',
    'usage.heading': '用量',
    'usage.days': '天数',
    'usage.days.1': '今天',
    'usage.days.7': '近 7 天',
    'usage.days.30': '近 30 天',
    'usage.totals': '自 {since}（UTC）起：请求 {requests} 次，输入令牌 {tokensIn}，输出令牌 {tokensOut}，错误 {errors} 次。',
    'usage.byModel': '按模型',
    'usage.byClient': '按客户端密钥',
    'usage.col.model': '模型',
    'usage.col.client': '客户端',
    'usage.col.requests': '请求数',
    'usage.col.tokensIn': '输入令牌',
    'usage.col.tokensOut': '输出令牌',
    'usage.col.errors': '错误数',
    'usage.empty': '暂无用量。',
    'stored.heading': '已保存的响应与对话',
    'stored.counts': '已保存响应 {responses} 个、对话 {conversations} 个，共 {size} JSON。',
    'stored.kept': '最后一次使用后保留 {days} 天；每轮最多 {max}。',
    'stored.forever': '一直保留直到被删除；每轮最多 {max}。',
    'stored.off': '已关闭保存（RESPONSES_STORE=false）：不保存任何内容。',
    'stored.continuation.on': '在可以的情况下，每轮对话继续使用上一轮所用的 OnDemand 会话（SESSION_CONTINUATION）。',
    'stored.continuation.off': '每轮对话都把完整对话重新发送到一个新的 OnDemand 会话（SESSION_CONTINUATION 关闭）。',
    'stored.unavailable': '已保存的数据暂时无法读取：{error}',
    'errors.heading': '最近错误',
    'errors.col.time': '时间',
    'errors.col.requestId': '请求 ID',
    'errors.col.status': '状态码',
    'errors.col.code': '错误码',
    'errors.col.model': '模型',
    'errors.col.key': '上游密钥',
    'errors.col.path': '路径',
    'errors.empty': '最近没有错误。',
    'time.ago.s': '{n} 秒前',
    'time.ago.m': '{n} 分钟前',
    'time.ago.h': '{n} 小时前',
    'time.ago.d': '{n} 天前',
    'time.in.s': '{n} 秒后',
    'time.in.m': '{n} 分钟后',
    'time.in.h': '{n} 小时后',
    'time.in.d': '{n} 天后',
  },
};

let lang = 'en';
let fmt = new Intl.NumberFormat('en');

/** The saved choice, else the first Chinese or English entry of the browser's languages, else English. */
function initialLang() {
  let saved = null;
  try {
    saved = localStorage.getItem(LANG_KEY);
  } catch {
    saved = null;
  }
  if (saved && Object.hasOwn(I18N, saved)) return saved;
  for (const l of navigator.languages || [navigator.language || '']) {
    if (/^zh/i.test(l)) return 'zh-CN';
    if (/^en/i.test(l)) return 'en';
  }
  return 'en';
}

function t(key, params) {
  const s = I18N[lang][key] ?? I18N.en[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => {
    if (!Object.hasOwn(params, name)) return m;
    let v = params[name];
    if (typeof v === 'function') v = v();
    if (typeof v === 'number') return fmt.format(v);
    if (v instanceof Date) return v.toLocaleTimeString(lang);
    return String(v ?? '');
  });
}

/** The translation of `prefix + value` (a key state, a circuit phase), or the value itself when there is none. */
function label(prefix, value) {
  const key = prefix + value;
  return Object.hasOwn(I18N.en, key) ? t(key) : String(value);
}

/** Puts a translated message into a node and remembers it, so a change of language tells it again. */
const said = new Map();
function say(node, key, params) {
  if (key) said.set(node, [key, params]);
  else said.delete(node);
  node.textContent = key ? t(key, params) : '';
}

function setLang(next, remember) {
  lang = Object.hasOwn(I18N, next) ? next : 'en';
  if (remember) {
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch {
      /* private mode: the choice lasts for this page */
    }
  }
  fmt = new Intl.NumberFormat(lang);
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll('[data-i18n-placeholder]')) e.placeholder = t(e.dataset.i18nPlaceholder);
  for (const e of document.querySelectorAll('[data-i18n-aria-label]')) e.setAttribute('aria-label', t(e.dataset.i18nAriaLabel));
  for (const b of document.querySelectorAll('#lang button[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  for (const [node, [key, params]] of said) node.textContent = t(key, params);
  if (view !== null && !$('app').hidden) renderAll();
}

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
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new Error(t('error.network'));
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.status === 401) throw new AuthError((data && data.error && data.error.message) || 'the admin key was refused');
  if (!res.ok) throw new Error((data && data.error && data.error.message) || `HTTP ${res.status}`);
  return data;
}

// ── sign in / out ──────────────────────────────────────────────────────────────────────────────────────────

/** `message` is a dictionary key (or nothing), `params` its values. */
function showSignIn(message, params) {
  stopRefresh();
  sessionStorage.removeItem(STORE_KEY);
  view = null;
  $('app').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  say($('signin-error'), message, params);
  say($('status'), null);
  $('admin-key').focus();
}

async function signIn(key) {
  sessionStorage.setItem(STORE_KEY, key);
  try {
    await api('GET', '/admin/keys');
  } catch (err) {
    if (err instanceof AuthError) showSignIn('signin.refused');
    else showSignIn('signin.unreachable', { error: err.message });
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
/** the last answers, so a change of language can draw them again */
let view = null;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const wantUsage = Date.now() - lastUsage > USAGE_REFRESH_MS;
    const [keys, series, errors, usage, stored] = await Promise.all([
      api('GET', '/admin/keys'),
      api('GET', '/admin/stats/timeseries'),
      api('GET', '/admin/errors/recent?limit=50'),
      wantUsage ? api('GET', `/admin/usage?days=${$('usage-days').value}`) : null,
      // a store that is away (Redis down) must not blank the rest of the page
      api('GET', '/admin/stored').catch((err) => {
        if (err instanceof AuthError) throw err;
        return { error: err.message };
      }),
    ]);
    view = { keys, series, errors, stored, usage: usage || (view && view.usage) };
    if (usage) lastUsage = Date.now();
    renderAll();
    say($('status'), 'status.updated', { time: new Date() });
  } catch (err) {
    if (err instanceof AuthError) showSignIn('signin.again');
    else say($('status'), 'status.failed', { error: err.message });
  } finally {
    refreshing = false;
  }
}

function renderAll() {
  renderKeys(view.keys);
  renderSummary(view.keys, view.series);
  renderCharts(view.series.points);
  renderErrors(view.errors.data);
  renderStored(view.stored);
  if (view.usage) renderUsage(view.usage);
}

/** bytes as KB / MB / GB (powers of 1024), in the page's language */
function size(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
}

function renderStored(s) {
  const node = $('stored');
  if (!s) return;
  if (s.error) {
    node.textContent = t('stored.unavailable', { error: s.error });
    return;
  }
  if (!s.enabled) {
    node.textContent = t('stored.off');
    return;
  }
  const kept = s.retentionDays > 0 ? t('stored.kept', { days: s.retentionDays, max: size(s.maxBytes) }) : t('stored.forever', { max: size(s.maxBytes) });
  const continuation = t(s.continueSessions ? 'stored.continuation.on' : 'stored.continuation.off');
  node.textContent = `${t('stored.counts', { responses: s.responses, conversations: s.conversations, size: size(s.bytes) })} ${kept} ${continuation}`;
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

const num = (n) => (n === null || n === undefined ? '–' : fmt.format(n));
/** a time as a tooltip shows it: date and time in the page's language */
const fullTime = (iso) => (iso ? new Date(iso).toLocaleString(lang) : '');

function ago(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(s);
  const [unit, n] = abs < 60 ? ['s', abs] : abs < 3600 ? ['m', Math.round(abs / 60)] : abs < 86400 ? ['h', Math.round(abs / 3600)] : ['d', Math.round(abs / 86400)];
  return t(`time.${s >= 0 ? 'ago' : 'in'}.${unit}`, { n });
}

// ── key pool ───────────────────────────────────────────────────────────────────────────────────────────────

function renderKeys(list) {
  const table = $('keys');
  const rows = list.data.map((k) => {
    const name = el('td', {}, [el('code', { text: k.fingerprint })]);
    name.dataset.label = t('keys.col.key');
    if (k.label) name.appendChild(el('div', { text: k.label, className: 'muted' }));
    const actions = [];
    if (k.state === 'disabled') actions.push(button('enable', k.fingerprint));
    else actions.push(button('disable', k.fingerprint));
    actions.push(button('test', k.fingerprint));
    actions.push(button('remove', k.fingerprint, 'danger'));
    return el('tr', { data: { fp: k.fingerprint, state: k.state } }, [
      name,
      cell(table, 1, { className: 'state' }, [el('span', { text: label('state.', k.state), className: `badge ${k.state}` })]),
      cell(table, 2, { text: k.reason || '–', title: k.lastError || '' }),
      cell(table, 3, { text: ago(k.since), title: fullTime(k.since) }),
      cell(table, 4, { text: k.until ? ago(k.until) : '–', title: fullTime(k.until) }),
      cell(table, 5, { text: num(k.inFlight), className: 'num' }),
      cell(table, 6, { text: num(k.successes), className: 'num' }),
      cell(table, 7, { text: num(k.failures), className: 'num' }),
      cell(table, 8, { text: k.lastLatencyMs === null ? '–' : `${num(Math.round(k.lastLatencyMs))} ms`, className: 'num' }),
      cell(table, 9, { className: 'actions' }, actions),
    ]);
  });
  fillBody(table, rows, t('keys.empty'));
  const c = list.circuit;
  $('circuit').textContent =
    c && c.phase !== 'closed'
      ? t('circuit.tripped', {
          phase: label('circuit.phase.', c.phase),
          reason: c.reason || c.cls || '',
          until: c.until ? t('circuit.until', { time: new Date(c.until) }) : '',
        })
      : t('circuit.closed');
}

function button(action, fp, extra) {
  const b = el('button', { text: t(`action.${action}`), className: extra || '', data: { action, fp } });
  b.type = 'button';
  return b;
}

async function keyAction(action, fp, btn) {
  const msg = $('key-message');
  if (action === 'remove' && !confirm(t('confirm.remove', { fp }))) return;
  const verb = () => t(`verb.${action}`);
  btn.disabled = true;
  msg.className = '';
  say(msg, 'msg.working', { action: verb, fp });
  try {
    if (action === 'remove') {
      await api('DELETE', `/admin/keys/${encodeURIComponent(fp)}`);
      say(msg, 'msg.removed', { fp });
    } else if (action === 'test') {
      const r = await api('POST', `/admin/keys/${encodeURIComponent(fp)}/test`);
      say(msg, 'msg.tested', { fp, result: () => describeProbe(r.outcome), state: () => label('state.', r.key.state) });
    } else {
      const k = await api('POST', `/admin/keys/${encodeURIComponent(fp)}/${action}`);
      say(msg, 'msg.state', { fp, state: () => label('state.', k.state) });
    }
  } catch (err) {
    if (err instanceof AuthError) return showSignIn('signin.again');
    msg.className = 'error';
    say(msg, 'msg.failed', { action: verb, fp, error: err.message });
  }
  await refresh();
}

function describeProbe(outcome) {
  if (!outcome) return t('probe.none');
  if (outcome.ok) return outcome.latencyMs !== undefined ? t('probe.okIn', { ms: Math.round(outcome.latencyMs) }) : t('probe.ok');
  const reason = outcome.reason || outcome.failure;
  return reason ? t('probe.failedWhy', { reason: String(reason) }) : t('probe.failed');
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
    say(msg, 'msg.added', { fp: k.fingerprint });
    $('add-key-form').reset();
  } catch (err) {
    if (err instanceof AuthError) return showSignIn('signin.again');
    msg.className = 'error';
    say(msg, 'msg.addFailed', { error: err.message });
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
  const card = (caption, value) => el('div', { className: 'card' }, [el('div', { text: value, className: 'value' }), el('div', { text: caption, className: 'label' })]);
  $('summary').replaceChildren(
    card(t('summary.usable'), `${num(usable)} / ${num(keys.data.length)}`),
    card(t('summary.requests'), num(requests)),
    card(t('summary.errors'), num(errors)),
    card(t('summary.tokens'), num(tokens)),
    card(t('summary.p95'), p95 === null ? '–' : `≤ ${num(p95)} ms`),
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
    const first = new Date(points[0].t).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
    svg.appendChild(svgEl('text', { x: PAD.left, y: H - 3 }, first));
    svg.appendChild(svgEl('text', { x: W - PAD.right, y: H - 3, 'text-anchor': 'end' }, t('chart.now')));
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
      if (v === null) {
        pen = false;
        return;
      }
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
  bars($('chart-traffic'), withOk, [
    ['ok', 'ok'],
    ['clientErrors', 'c4'],
    ['serverErrors', 'c5'],
  ]);
  lines($('chart-latency'), points, [
    ['avgMs', 'avg'],
    ['p95Ms', 'p95'],
    ['avgTtftMs', 'ttft'],
  ]);
  bars($('chart-errors'), points, [
    ['clientErrors', 'c4'],
    ['serverErrors', 'c5'],
  ]);
}

// ── usage and errors ───────────────────────────────────────────────────────────────────────────────────────

function renderUsage(u) {
  const day = new Date(`${u.since}T00:00:00Z`);
  const since = Number.isNaN(day.getTime()) ? u.since : day.toLocaleDateString(lang, { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
  $('usage-totals').textContent = t('usage.totals', { since, requests: u.totals.requests, tokensIn: u.totals.tokensIn, tokensOut: u.totals.tokensOut, errors: u.totals.errors });
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
  fillBody($('usage-models'), rows($('usage-models'), u.byModel, 'model'), t('usage.empty'));
  fillBody($('usage-clients'), rows($('usage-clients'), u.byClient, 'client'), t('usage.empty'));
}

function renderErrors(list) {
  const table = $('errors');
  const rows = list.map((e) =>
    el('tr', {}, [
      cell(table, 0, { text: new Date(e.at).toLocaleTimeString(lang), title: fullTime(e.at) }),
      cell(table, 1, {}, [el('code', { text: e.requestId })]),
      cell(table, 2, { text: e.status }),
      cell(table, 3, { text: e.code || '–' }),
      cell(table, 4, { text: e.model || '–' }),
      cell(table, 5, { text: e.upstreamKey || '–' }),
      cell(table, 6, { text: `${e.method} ${e.path}` }),
    ]),
  );
  fillBody(table, rows, t('errors.empty'));
}

// ── wiring ─────────────────────────────────────────────────────────────────────────────────────────────────

document.addEventListener('DOMContentLoaded', () => {
  setLang(initialLang(), false);
  $('lang').addEventListener('click', (ev) => {
    const btn = ev.target.closest('button[data-lang]');
    if (btn) setLang(btn.dataset.lang, true);
  });
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $('admin-key').value.trim();
    $('admin-key').value = '';
    if (key) void signIn(key);
  });
  $('signout').addEventListener('click', () => showSignIn('signin.out'));
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
