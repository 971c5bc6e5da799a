/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core (no browser download).
 * Sign in with the admin key, see the pool, disable a key and watch traffic avoid it, test, add and remove a
 * key, check the charts, usage and errors fill in, and that the page fits a phone. Then the same page in Simplified
 * Chinese: a zh-CN browser gets it, the EN / 中文 switch changes the language live and is remembered over a reload,
 * and the Chinese dictionary lacks no English key. The English tests run with locale en-US. Screenshots go to
 * test-artifacts/ (gitignored). Without chromium it is skipped with a line naming the package, except under CI=true
 * (.ci/run installs it), where it fails.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { CHROMIUM, describeNeeding } from './requirements.js';

const describeWithChromium = describeNeeding(CHROMIUM);
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLIENT_KEY, UPSTREAM_KEYS, fingerprintKey, startStack, type Stack } from './harness.js';

const ADMIN = 'adm-dashboard-0123456789';
const ADDED = 'od-key-delta-444444';
const [ALPHA] = UPSTREAM_KEYS as [string, string, string];
const ARTIFACTS = path.resolve('test-artifacts');
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CHROMIUM_PATH, else the first chromium on PATH. */
function findChromium(): string | undefined {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : undefined;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (dir !== '' && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

let stack: Stack;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function chat(): Promise<number> {
  const res = await request(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }),
  });
  await res.body.dump();
  return res.statusCode;
}

const row = (key: string) => page.locator(`#keys tr[data-fp="${fingerprintKey(key)}"]`);

beforeAll(async () => {
  const executablePath = findChromium();
  if (executablePath === undefined) {
    throw new Error("chromium not found (looked at CHROMIUM_PATH and PATH): install Debian's chromium package (apt-get install -y chromium); .ci/run installs it");
  }
  stack = await startStack({
    keys: [...UPSTREAM_KEYS, ADDED],
    env: { ADMIN_KEY: ADMIN, ONDEMAND_APIKEYS: UPSTREAM_KEYS.join(','), HEALTH_CHECK_INTERVAL: '0' },
  });
  browser = await chromium.launch({ executablePath, args: LAUNCH_ARGS, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describeWithChromium('dashboard in chromium', () => {
  it('refuses a wrong admin key, then signs in with the right one and shows the pool', async () => {
    await page.goto(`${stack.url}/dashboard`);
    await page.locator('#admin-key').fill('not-the-admin-key');
    await page.locator('#signin-form button[type=submit]').click();
    await expect.poll(() => page.locator('#signin-error').textContent()).toContain('refused');
    expect(await page.locator('#app').isHidden()).toBe(true);

    await page.locator('#admin-key').fill(ADMIN);
    await page.locator('#signin-form button[type=submit]').click();
    await page.locator('#keys tbody tr[data-fp]').first().waitFor();
    expect(await page.locator('#keys tbody tr[data-fp]').count()).toBe(3);
    for (const k of UPSTREAM_KEYS) expect(await row(k).getAttribute('data-state')).toBe('active');
    expect(await page.locator('#circuit').textContent()).toContain('closed');
    // the key is kept for this tab only
    expect(await page.evaluate<string | null>("sessionStorage.getItem('odgw.adminKey')")).toBe(ADMIN);
  });

  it('disables a key: its state changes and traffic avoids it', async () => {
    await row(ALPHA).locator('button[data-action=disable]').click();
    await page.locator(`#keys tr[data-fp="${fingerprintKey(ALPHA)}"][data-state="disabled"]`).waitFor();
    expect(await row(ALPHA).locator('.badge').textContent()).toBe('disabled');
    expect(await row(ALPHA).locator('button[data-action=enable]').count()).toBe(1);

    stack.sim.reset();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await chat());
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const byKey = stack.sim.stats().byKey;
    expect(byKey[ALPHA]?.queries ?? 0).toBe(0);
    const others = UPSTREAM_KEYS.slice(1).reduce((n, k) => n + (byKey[k]?.queries ?? 0), 0);
    expect(others).toBe(6);
  });

  it('tests a key from its row', async () => {
    const beta = UPSTREAM_KEYS[1] as string;
    await row(beta).locator('button[data-action=test]').click();
    await expect.poll(() => page.locator('#key-message').textContent()).toMatch(/test: ok/);
  });

  it('adds a key, shows it without ever showing the key itself, and removes it', async () => {
    await page.locator('#new-key').fill(ADDED);
    await page.locator('#new-label').fill('delta');
    await page.locator('#add-key-form button[type=submit]').click();
    await row(ADDED).waitFor();
    expect(await page.locator('#key-message').textContent()).toContain(`Added ${fingerprintKey(ADDED)}`);
    expect(await row(ADDED).textContent()).toContain('delta');
    expect(await page.locator('#new-key').inputValue()).toBe('');
    expect(await page.content()).not.toContain(ADDED);
    expect(stack.gateway.pool.list().map((k) => k.fingerprint)).toContain(fingerprintKey(ADDED));

    // the screenshot shows the pool with the disabled and the new key, and the traffic so far
    await page.locator('#usage-days').selectOption('1');
    await expect.poll(() => page.locator('#usage-models').textContent()).toContain('gpt-4o');
    expect(await page.locator('#chart-traffic rect').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    page.once('dialog', (dialog) => void dialog.accept());
    await row(ADDED).locator('button[data-action=remove]').click();
    await row(ADDED).waitFor({ state: 'detached' });
    expect(stack.gateway.pool.list().map((k) => k.fingerprint)).not.toContain(fingerprintKey(ADDED));
  });

  it('lists recent errors with their request ids', async () => {
    const res = await request(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'x-request-id': 'req-dashboard-bad' },
      body: '{"model":',
    });
    await res.body.dump();
    expect(res.statusCode).toBe(400);
    await page.locator('#usage-days').selectOption('7'); // any action refreshes the page's data
    await expect.poll(() => page.locator('#errors').textContent()).toContain('req-dashboard-bad');
    expect(await page.locator('#errors').textContent()).toContain('invalid_json');
  });

  it('shows the stored responses and conversations', async () => {
    const res = await request(`${stack.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'keep me' }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await page.locator('#usage-days').selectOption('1'); // any action refreshes the page's data
    await expect.poll(() => page.locator('#stored').textContent()).toMatch(/^Stored responses: [1-9]\d*; conversations: 0; [\d.,]+ (B|KB) of JSON\. Kept 30 days/);
    expect(await page.locator('#stored').textContent()).toContain('replays the conversation into a fresh OnDemand session');
  });

  it('fits a phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    expect(existsSync(path.join(ARTIFACTS, 'dashboard.png'))).toBe(true);
  });

  it('signs out and forgets the key; nothing on the page broke the content security policy', async () => {
    await page.locator('#signout').click();
    expect(await page.locator('#signin').isVisible()).toBe(true);
    expect(await page.evaluate<string | null>("sessionStorage.getItem('odgw.adminKey')")).toBeNull();
    expect(pageErrors.filter((e) => !/401|Unauthorized/i.test(e))).toEqual([]);
  });
});

describeWithChromium('dashboard in Simplified Chinese', () => {
  let context: BrowserContext;
  let zh: Page;
  const zhErrors: string[] = [];
  const zhRow = (key: string) => zh.locator(`#keys tr[data-fp="${fingerprintKey(key)}"]`);
  const headings = (table: string) => zh.locator(`${table} thead th`).allTextContents();
  type Dictionaries = Record<'en' | 'zh-CN', Record<string, string>>;

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
    zh = await context.newPage();
    zh.setDefaultTimeout(10_000);
    zh.on('pageerror', (err) => zhErrors.push(String(err)));
    zh.on('console', (msg) => {
      if (msg.type() === 'error') zhErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  it('a zh-CN browser gets the page in Chinese; server text stays as it is', async () => {
    await zh.goto(`${stack.url}/dashboard`);
    expect(await zh.evaluate<string[]>('navigator.languages')).toEqual(['zh-CN']);
    expect(await zh.title()).toBe('网关控制台');
    expect(await zh.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await zh.locator('h1').textContent()).toBe('OnDemand 网关');
    expect(await zh.locator('#signin h2').textContent()).toBe('登录');
    expect(await zh.locator('#signin-form button[type=submit]').textContent()).toBe('登录');
    expect(await zh.locator('#lang button[data-lang="zh-CN"]').getAttribute('aria-pressed')).toBe('true');

    await zh.locator('#admin-key').fill('not-the-admin-key');
    await zh.locator('#signin-form button[type=submit]').click();
    await expect.poll(() => zh.locator('#signin-error').textContent()).toBe('管理密钥被拒绝。');
    await zh.screenshot({ path: path.join(ARTIFACTS, 'dashboard-zh-signin.png') });

    await zh.locator('#admin-key').fill(ADMIN);
    await zh.locator('#signin-form button[type=submit]').click();
    await zh.locator('#keys tbody tr[data-fp]').first().waitFor();
    expect(await zh.locator('section.panel > h2').first().textContent()).toBe('密钥池');
    expect(await headings('#keys')).toEqual(['密钥', '状态', '原因', '开始于', '持续至', '进行中', '成功', '失败', '延迟', '操作']);
    expect(await headings('#errors')).toEqual(['时间', '请求 ID', '状态码', '错误码', '模型', '上游密钥', '路径']);
    // the state is translated on the badge, the row keeps the server's value
    expect(await zhRow(ALPHA).getAttribute('data-state')).toBe('disabled');
    expect(await zhRow(ALPHA).locator('.badge').textContent()).toBe('已禁用');
    expect(await zhRow(ALPHA).locator('button[data-action=enable]').textContent()).toBe('启用');
    expect(
      await zhRow(UPSTREAM_KEYS[1] as string)
        .locator('button[data-action=disable]')
        .textContent(),
    ).toBe('禁用');
    expect(await zh.locator('#add-key-form button[type=submit]').textContent()).toBe('添加密钥');
    expect(await zh.locator('#new-key').getAttribute('placeholder')).toBe('新的 OnDemand API 密钥');
    expect(await zh.locator('#circuit').textContent()).toBe('上游熔断器闭合（正常）。');
    expect(await zh.locator('#summary').textContent()).toContain('可用密钥');
    expect(await zh.locator('#status').textContent()).toMatch(/^更新于 /);
    await expect.poll(() => zh.locator('#usage-models').textContent()).toContain('gpt-4o');
    expect(await zh.locator('#usage-totals').textContent()).toMatch(/^自 \d{4}年\d{1,2}月\d{1,2}日（UTC）起：请求 [\d,]+ 次/);
    expect(await zh.locator('#errors').textContent()).toContain('invalid_json');
    expect(await zh.locator('#stored').textContent()).toMatch(/^已保存响应 [1-9]\d* 个、对话 0 个/);

    await zhRow(UPSTREAM_KEYS[1] as string)
      .locator('button[data-action=test]')
      .click();
    await expect.poll(() => zh.locator('#key-message').textContent()).toMatch(/测试：成功/);
    await zh.screenshot({ path: path.join(ARTIFACTS, 'dashboard-zh.png'), fullPage: true });

    await zh.setViewportSize({ width: 390, height: 844 });
    await expect.poll(() => zh.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
    expect(await zhRow(ALPHA).locator('td').nth(1).getAttribute('data-label')).toBe('状态');
    await zh.screenshot({ path: path.join(ARTIFACTS, 'dashboard-zh-phone.png'), fullPage: true });
    await zh.setViewportSize({ width: 1280, height: 900 });
  });

  it('the EN / 中文 switch changes the language live and the choice survives a reload', async () => {
    await zh.locator('#lang button[data-lang=en]').click();
    expect(await zh.locator('html').getAttribute('lang')).toBe('en');
    expect(await zh.title()).toBe('Gateway dashboard');
    expect(await headings('#keys')).toEqual(['Key', 'State', 'Reason', 'Since', 'Until', 'In flight', 'OK', 'Failed', 'Latency', 'Actions']);
    expect(await zhRow(ALPHA).locator('.badge').textContent()).toBe('disabled');
    expect(await zh.locator('#key-message').textContent()).toMatch(/test: ok/); // a message shown before is told again
    expect(await zh.locator('#lang button[data-lang=en]').getAttribute('aria-pressed')).toBe('true');
    expect(await zh.evaluate<string | null>("localStorage.getItem('odgw.lang')")).toBe('en');

    await zh.reload();
    await zh.locator('#keys tbody tr[data-fp]').first().waitFor(); // still signed in: the admin key is in this tab
    expect(await zh.locator('html').getAttribute('lang')).toBe('en');
    expect(await headings('#keys')).toContain('State');
    expect(await zh.locator('#add-key-form button[type=submit]').textContent()).toBe('Add key');

    await zh.locator('#lang button[data-lang="zh-CN"]').click();
    expect(await zh.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await zh.locator('#add-key-form button[type=submit]').textContent()).toBe('添加密钥');
    await zh.reload();
    await zh.locator('#keys tbody tr[data-fp]').first().waitFor();
    expect(await zh.title()).toBe('网关控制台');
    expect(await headings('#keys')).toContain('状态');

    // the choice wins over the browser language in an English browser too
    await page.goto(`${stack.url}/dashboard`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.evaluate("localStorage.setItem('odgw.lang', 'zh-CN')");
    await page.reload();
    expect(await page.locator('#signin h2').textContent()).toBe('登录');
    await page.evaluate("localStorage.removeItem('odgw.lang')");
  });

  it('the Chinese dictionary has every English key, with the same placeholders; the page names only known keys', async () => {
    const dict = await zh.evaluate<Dictionaries>('I18N');
    const en = Object.keys(dict.en);
    expect(en.length).toBeGreaterThan(50);
    expect(en.filter((k) => !Object.hasOwn(dict['zh-CN'], k))).toEqual([]);
    expect(Object.keys(dict['zh-CN']).filter((k) => !Object.hasOwn(dict.en, k))).toEqual([]);
    const slots = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const k of en) expect(slots(dict['zh-CN'][k] as string), k).toEqual(slots(dict.en[k] as string));

    // the served HTML's English (what shows before the script runs) is the English dictionary's
    const html = await (await request(`${stack.url}/dashboard`)).body.text();
    const named = [...html.matchAll(/data-i18n(?:-placeholder|-aria-label)?="([^"]+)"/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(40);
    expect(named.filter((k) => !Object.hasOwn(dict.en, k))).toEqual([]);
    for (const [, key, text] of html.matchAll(/data-i18n="([^"]+)"[^>]*>([^<]*)</g)) expect(text, key).toBe(dict.en[key as string]);
    expect(zhErrors.filter((e) => !/401|Unauthorized/i.test(e))).toEqual([]);
  });
});
