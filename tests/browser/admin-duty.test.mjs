// The township administrator's pages for who gets which case, in Chromium against the
// demo: a worker set on leave with a substitute, and the next case of their grid seen
// going to the substitute; a GBK CSV imported as Excel on a Chinese Windows PC saves
// it; axe-core (WCAG 2.1 A and AA) on the rules, duty and reply-template pages, which
// also fit a 360 px phone. With MASHANG_SCREENSHOTS set to a folder (relative to the
// repository), the pages are saved there as admin-*.png at 1280 × 800:
//   MASHANG_SCREENSHOTS=docs/screenshots infra/test-browser --test-name-pattern='admin'

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, demo, base, qr, submitByApi, checkAccessibility } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = process.env.MASHANG_SCREENSHOTS ? resolve(here, '../..', process.env.MASHANG_SCREENSHOTS) : null;
if (shots) mkdirSync(shots, { recursive: true });

// 草滩镇 assigns new cases at once (no triage); its first QR code is in the grid of its
// first worker, who is that grid's only worker.
const township = demo.townships.find((t) => t.code === 'caotan');
const login = (role) => township.logins.find((l) => l.role === role);
const [worker, substitute] = township.workers;
const DESKTOP = { locale: 'zh-CN', viewport: { width: 1280, height: 800 } };
const PHONE = { locale: 'zh-CN', viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true };

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

/** A context signed in as `role` of 草滩镇 through the sign-in form. */
async function signedIn(role, device = DESKTOP) {
  const ctx = await browser.newContext(device);
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#login', login(role).login);
  await page.fill('#password', login(role).password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
  return { ctx, page };
}

/** Saves the page as `name`.png when screenshots are asked for. */
async function shoot(page, name) {
  if (!shots) return;
  await page.evaluate(() => { window.scrollTo(0, 0); return document.fonts.ready; });
  await page.screenshot({ path: `${shots}/${name}.png` });
  console.log(`saved ${name}.png`);
}

/** Fails when the page is wider than its viewport (a phone must not scroll sideways). */
async function fits(page, label) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${label} is ${scroll} px wide on a ${width} px screen`);
}

/** A moment as a datetime-local field in Asia/Shanghai (UTC+8, no summer time) holds it. */
function local(ms) {
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 16);
}

/** Puts `who` back on duty with no leave or substitute, through the JSON API (the
 * other browser tests expect the demo's worker to get their grid's cases). */
async function backOnDuty(who) {
  const { login: name, password } = login('township_admin');
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: name, password }),
  });
  const { token } = await r.json();
  const put = await fetch(`${base}/api/v1/admin/people/${who}/duty`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ on_duty: true }),
  });
  assert.equal(put.status, 204, `putting ${who} back on duty`);
}

test('an administrator sets a worker on leave with a substitute and sees the next case go to the substitute', { timeout: 180_000 }, async () => {
  const admin = await signedIn('township_admin');
  const { page } = admin;
  try {
    // From the people list to the worker's page and their duty page, by the links.
    await page.goto(`${base}/admin`);
    await Promise.all([page.waitForURL(/\/admin\/people$/), page.click('main a[href="/admin/people"]')]);
    await Promise.all([page.waitForURL(/\/admin\/people\/[0-9a-f-]+$/), page.click(`a[href="/admin/people/${worker.id}"]`)]);
    await Promise.all([page.waitForURL(/\/duty$/), page.click(`a[href="/admin/people/${worker.id}/duty"]`)]);
    await checkAccessibility(page, 'duty page');

    // A leave in the township's local time, until before it starts: refused, input kept.
    const from = local(Date.now() - 3600_000);
    const until = local(Date.now() + 2 * 86400_000);
    await page.fill('#leave_from', until);
    await page.fill('#leave_until', from);
    await page.selectOption('#substitute_id', substitute.id);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/duty"] button[type=submit]:not([name])')]);
    assert.match(await page.locator('.fe').first().textContent(), /须晚于开始时间/);
    assert.equal(await page.inputValue('#leave_from'), until);
    assert.equal(await page.inputValue('#substitute_id'), substitute.id);
    await checkAccessibility(page, 'duty page refused');

    await page.fill('#leave_from', from);
    await page.fill('#leave_until', until);
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/duty"] button[type=submit]:not([name])')]);
    assert.match(await page.locator('[role=status]').textContent(), /已保存/);
    assert.match(await page.locator('main').textContent(), new RegExp(`请假中.*由 ${substitute.name} 代班`, 's'));
    await shoot(page, 'admin-duty');

    // The people list says who is away and who covers.
    await page.goto(`${base}/admin/people`);
    const away = await page.locator('section[aria-labelledby=away-h]').textContent();
    assert.match(away, new RegExp(`${worker.name}.*请假中.*由 ${substitute.name} 代班`, 's'));
    await checkAccessibility(page, 'people list with someone away');
    await shoot(page, 'admin-people-away');

    // The next case of the worker's grid goes to the substitute, as the centre sees it.
    const number = await submitByApi(qr('caotan', 0).token, { category: 'roads', description: '路灯坏了，请代班的同志处理' });
    const centre = await signedIn('township_centre');
    const row = centre.page.locator('table.cases tbody tr', { hasText: number });
    for (let i = 0; i < 60 && (await row.count()) === 0; i += 1) {
      await centre.page.goto(`${base}/console/cases?q=${encodeURIComponent(number)}`);
      if ((await row.count()) === 0) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal((await row.locator('td[data-label=经办人]').textContent()).trim(), substitute.name);
    await centre.ctx.close();

    // The leave ended on the page: the worker takes their grid's cases again.
    await page.goto(`${base}/admin/people/${worker.id}/duty`);
    await page.selectOption('#substitute_id', '');
    await Promise.all([page.waitForNavigation(), page.click('button[name=end_leave]')]);
    assert.match(await page.locator('main .card').first().textContent(), /在岗/);
    assert.equal(await page.inputValue('#leave_from'), '');
  } finally {
    await backOnDuty(worker.id);
    await admin.ctx.close();
  }
});

/** GBK bytes of `text`, the way Excel on a Chinese Windows PC writes a CSV: a table
 * from Chromium's and Node's own GBK decoder, read backwards. */
function gbk(text) {
  const decoder = new TextDecoder('gbk');
  const table = new Map();
  for (let lead = 0x81; lead <= 0xfe; lead += 1) {
    for (let trail = 0x40; trail <= 0xfe; trail += 1) {
      if (trail === 0x7f) continue;
      const ch = decoder.decode(new Uint8Array([lead, trail]));
      if (ch.length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [lead, trail]);
    }
  }
  const bytes = [];
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (code < 0x80) bytes.push(code);
    else {
      const pair = table.get(ch);
      assert.ok(pair, `${ch} has no GBK code`);
      bytes.push(...pair);
    }
  }
  return Buffer.from(bytes);
}

test('a CSV saved by Excel on a Chinese Windows PC (GBK) imports its nodes and people', { timeout: 120_000 }, async () => {
  const suffix = String(Date.now()).slice(-6);
  const grid = `caotan-v1-g${suffix}`;
  const name = `周测${'甲乙丙丁戊己庚辛壬癸'[Number(suffix) % 10]}`;
  const phone = `135${suffix}${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
  const csv = [
    '表,编码,名称,类型,上级编码,排序,姓名,手机号,角色,所在节点编码,登录名,启用',
    `网格,${grid},第${suffix}号网格,网格,caotan-v1,9,,,,,,是`,
    `人员,,,,,,${name},${phone},网格员,${grid},,是`,
  ].join('\r\n') + '\r\n';
  const bytes = gbk(csv);
  assert.notDeepEqual(bytes, Buffer.from(csv, 'utf8'), 'the file is not UTF-8');

  const { ctx, page } = await signedIn('township_admin');
  try {
    await page.goto(`${base}/admin/import`);
    await page.setInputFiles('#file', { name: '网格人员.csv', mimeType: 'text/csv', buffer: bytes });
    await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/import"] button[type=submit]')]);
    const done = await page.locator('main').textContent();
    assert.match(done, /导入完成/, done.slice(0, 500));
    await page.goto(`${base}/admin/people`);
    assert.match(await page.locator('main table').textContent(), new RegExp(`${name}.*网格员 · 第${suffix}号网格`, 's'));
    await page.goto(`${base}/admin/grid`);
    assert.match(await page.locator('main').textContent(), new RegExp(`第${suffix}号网格`));
  } finally {
    await ctx.close();
  }
});

test('the rules, duty and reply-template pages pass WCAG 2.1 AA and fit a 360 px phone', { timeout: 180_000 }, async () => {
  const { ctx, page } = await signedIn('township_admin');
  let rule = null;
  try {
    // A rule added through the form (disputes in 河东村 to its grid leader), with the
    // preview of who would get such a case; deleted again at the end.
    await page.goto(`${base}/admin/assignment-rules`);
    await checkAccessibility(page, 'rules page');
    await page.selectOption('#category', 'dispute');
    const village = await page.locator('#within_node option', { hasText: '河东村' }).getAttribute('value');
    await page.selectOption('#within_node', village);
    await page.selectOption('#target_node', village);
    await page.selectOption('#target_role', 'grid_leader');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/assignment-rules"] button[type=submit]')]);
    assert.match(await page.locator('[role=status]').textContent(), /已添加/);
    rule = await page.locator('form[action$="/delete"]').first().getAttribute('action');
    const grid = await page.locator('#try-grid option', { hasText: 'caotan-v2-g1' }).getAttribute('value');
    await page.selectOption('#try-grid', grid);
    await page.selectOption('#try-category', 'dispute');
    await Promise.all([page.waitForNavigation(), page.click('#try button[type=submit]')]);
    assert.match(await page.locator('#try [role=status]').textContent(), /河东村 的 网格长/);
    await checkAccessibility(page, 'rules page with a rule and a preview');
    await shoot(page, 'admin-assignment-rules');

    // Refused: the form again, marked.
    await page.fill('#position', '第一');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/admin/assignment-rules"] button[type=submit]')]);
    assert.match(await page.locator('#position-e').textContent(), /整数/);
    await checkAccessibility(page, 'rules page refused');

    await page.goto(`${base}/admin/reply-templates`);
    await checkAccessibility(page, 'reply templates page');
    await shoot(page, 'admin-reply-templates');
    await page.fill('#new-reply', '长'.repeat(10));
    await page.fill('#new-reply', '   ');
    await page.locator('#new-reply').evaluate((el) => { el.removeAttribute('required'); });
    await Promise.all([page.waitForNavigation(), page.click('form:has(#new-reply) button[type=submit]')]);
    assert.match(await page.locator('#new-reply-e').textContent(), /请填写常用语的内容/);
    await checkAccessibility(page, 'reply templates page refused');

    await page.goto(`${base}/admin`);
    await checkAccessibility(page, 'admin home with the new links');

    // On a phone.
    const phone = await signedIn('township_admin', PHONE);
    for (const [path, label, name] of [
      ['/admin/assignment-rules', 'rules page', null],
      [`/admin/people/${worker.id}/duty`, 'duty page', 'admin-duty-360'],
      ['/admin/reply-templates', 'reply templates page', null],
    ]) {
      await phone.page.goto(`${base}${path}`);
      await fits(phone.page, `${label} on a phone`);
      if (name) await shoot(phone.page, name);
    }
    await phone.ctx.close();
  } finally {
    if (rule) {
      await page.goto(`${base}/admin/assignment-rules`);
      await Promise.all([page.waitForNavigation(), page.click(`form[action="${rule}"] button`)]);
      assert.match(await page.locator('[role=status]').textContent(), /已删除/);
    }
    await ctx.close();
  }
});
