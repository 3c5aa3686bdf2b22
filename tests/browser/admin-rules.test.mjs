// The township administrator's rule pages in Chromium: an SLA policy edited in its
// form is taken by the next case a citizen sends; a holiday added in the calendar
// moves the next case's deadline; every rule page passes axe-core's WCAG 2.1 A/AA
// rules and fits a 360 px phone. What the tests change in the demo they put back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launch, context, qr, base, demo, submitByApi } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const TOWNSHIP = demo.townships[0];
const login = (role) => {
  const found = TOWNSHIP.logins.find((l) => l.role === role);
  assert.ok(found, `demo.json has no ${role} sign-in`);
  return found;
};
const DESKTOP = { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false };
const PHONE = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true };
// A category the other browser tests do not send, so a changed policy touches nothing else.
const CATEGORY = 'policy';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

/** axe-core's WCAG 2.1 A and AA violations on the page, one line each (any impact). */
async function wcagViolations(page) {
  await page.evaluate(AXE); // through the debugger protocol: the page's CSP allows no inline script
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}× e.g. ${v.nodes[0] && v.nodes[0].target.join(' ')})`);
}

async function token(role) {
  const { login: who, password } = login(role);
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: who, password }),
  });
  assert.equal(r.status, 200, `signing ${role} in`);
  return (await r.json()).token;
}

async function api(bearer, path) {
  const r = await fetch(`${base}${path}`, { headers: { accept: 'application/json', authorization: `Bearer ${bearer}` } });
  const text = await r.text();
  assert.equal(r.status, 200, `GET ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** The case of a tracking number, in full, as the township centre sees it. */
async function caseOf(centre, number) {
  for (let i = 0; i < 150; i += 1) {
    const list = await api(centre, `/api/v1/cases?q=${encodeURIComponent(number)}`);
    const found = list.cases.find((c) => c.tracking_number === number);
    if (found) return api(centre, `/api/v1/cases/${found.id}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no case for ${number}`);
}

async function signIn(page, role) {
  await page.goto(`${base}/login`);
  await page.fill('#login', login(role).login);
  await page.fill('#password', login(role).password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
}

/** Submits the form `selector` is in and waits for the page that answers. */
async function submit(page, selector) {
  const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return response;
}

/** `2026-12-07T02:00:00Z` → `12月7日 10:00` in the township's zone, as the case page says it. */
function shown(at) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  const [month, day] = [Number(parts.month), Number(parts.day)];
  const pad = (n) => String(n).padStart(2, '0');
  return { text: `${month}月${day}日 ${parts.hour}:${parts.minute}`, date: `${parts.year}-${pad(month)}-${pad(day)}` };
}

/** The deadlines the case page lists. */
async function deadlinesOnPage(page, id) {
  await page.goto(`${base}/console/cases/${id}`);
  return page.locator('ul.deadlines').innerText();
}

/** The policy form's values for one target. */
async function readTarget(page, kind) {
  return {
    amount: await page.inputValue(`#${kind}-amount`),
    unit: await page.inputValue(`#${kind}-unit`),
    reminders: await page.inputValue(`#${kind}-reminders`),
  };
}

async function fillTarget(page, kind, { amount, unit, reminders }) {
  await page.fill(`#${kind}-amount`, amount);
  await page.selectOption(`#${kind}-unit`, unit);
  await page.fill(`#${kind}-reminders`, reminders);
}

test('the administrator edits an SLA policy and the next case takes it', { timeout: 120_000 }, async () => {
  const code = qr(TOWNSHIP.code, 0);
  const centre = await token('township_centre');
  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  await signIn(page, 'township_admin');
  await page.goto(`${base}/admin`);
  await submit(page, 'main a[href="/admin/sla-policies"]');
  assert.match(await page.locator('main').innerText(), /修改只对修改以后新收到的事件生效/);
  await submit(page, `a[href="/admin/sla-policies/${CATEGORY}/normal"]`);
  const before = { first: await readTarget(page, 'first_response'), resolution: await readTarget(page, 'resolution') };
  try {
    await fillTarget(page, 'first_response', { amount: '40', unit: 'wall_minutes', reminders: '50' });
    await fillTarget(page, 'resolution', { amount: '36', unit: 'wall_hours', reminders: '50,80' });
    await submit(page, 'form[action$="/normal"] button[type=submit]');
    assert.match(page.url(), /\/admin\/sla-policies\?ok=saved$/);
    const row = page.locator('#policies tr', { has: page.locator(`a[href="/admin/sla-policies/${CATEGORY}/normal"]`) });
    assert.match(await row.innerText(), /40分钟（自然时间）[\s\S]*36小时（自然时间）/);

    const number = await submitByApi(code.token, { category: CATEGORY, description: '咨询低保政策（浏览器测试）' });
    const c = await caseOf(centre, number);
    const submitted = Date.parse(c.submitted_at);
    assert.equal(Date.parse(c.first_response_due) - submitted, 40 * 60_000, 'the first response is due in 40 minutes');
    assert.equal(Date.parse(c.resolution_due) - submitted, 36 * 3_600_000, 'the resolution in 36 hours');
    // The township centre sees those deadlines on the case page.
    const centrePage = await (await context(browser, DESKTOP)).newPage();
    await signIn(centrePage, 'township_centre');
    const listed = await deadlinesOnPage(centrePage, c.id);
    assert.ok(listed.includes(shown(c.first_response_due).text), `${listed} names ${shown(c.first_response_due).text}`);
    assert.ok(listed.includes(shown(c.resolution_due).text), `${listed} names ${shown(c.resolution_due).text}`);
    await centrePage.context().close();
  } finally {
    // Back as it was, through the same form.
    await page.goto(`${base}/admin/sla-policies/${CATEGORY}/normal`);
    await fillTarget(page, 'first_response', before.first);
    await fillTarget(page, 'resolution', before.resolution);
    await submit(page, 'form[action$="/normal"] button[type=submit]');
    assert.match(page.url(), /ok=saved/);
    await ctx.close();
  }
});

test('the administrator adds a holiday in the calendar and the next case is due later', { timeout: 120_000 }, async () => {
  const code = qr(TOWNSHIP.code, 0);
  const centre = await token('township_centre');
  const first = await caseOf(centre, await submitByApi(code.token, { category: CATEGORY, description: '咨询医保（日历测试一）' }));
  // The day the first case's resolution falls on becomes a holiday.
  const day = shown(first.resolution_due).date;

  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  await signIn(page, 'township_admin');
  await page.goto(`${base}/admin`);
  await submit(page, 'main a[href="/admin/calendar"]');
  await page.fill('#o-day', day);
  await page.selectOption('#o-kind', 'off');
  await page.fill('#o-name', '浏览器测试假日');
  await submit(page, 'form[action="/admin/calendar/overrides"] button[type=submit]');
  assert.match(page.url(), /ok=added/);
  const line = page.locator('#days tr', { hasText: day });
  assert.match(await line.innerText(), /放假[\s\S]*浏览器测试假日[\s\S]*本镇设定/);
  try {
    const second = await caseOf(centre, await submitByApi(code.token, { category: CATEGORY, description: '咨询医保（日历测试二）' }));
    assert.ok(Date.parse(second.resolution_due) > Date.parse(first.resolution_due), `${second.resolution_due} after ${first.resolution_due}`);
    assert.notEqual(shown(second.resolution_due).date, day, 'no working time on the holiday');
    const centrePage = await (await context(browser, DESKTOP)).newPage();
    await signIn(centrePage, 'township_centre');
    const listed = await deadlinesOnPage(centrePage, second.id);
    assert.ok(listed.includes(shown(second.resolution_due).text), `${listed} names ${shown(second.resolution_due).text}`);
    await centrePage.context().close();
  } finally {
    // The holiday goes again, by its own button.
    await submit(page, `form[action="/admin/calendar/overrides/${day}/delete"] button[type=submit]`);
    assert.match(page.url(), /ok=deleted/);
    assert.equal(await page.locator(`form[action="/admin/calendar/overrides/${day}/delete"]`).count(), 0);
    await ctx.close();
  }
});

const PAGES = [
  ['/admin/settings', 'settings'],
  ['/admin/sla-policies', 'SLA policies'],
  ['/admin/sla-policies/roads/urgent', 'one SLA policy'],
  ['/admin/calendar', 'calendar'],
  ['/admin/calendar?year=2027', 'calendar, a provisional year'],
  ['/admin/categories', 'categories'],
  ['/admin/categories/roads', 'one category'],
];

for (const [device, label, width] of [[DESKTOP, 'desktop', 1280], [PHONE, 'phone', 360]]) {
  test(`every rule page passes WCAG 2.1 AA on a ${label} and fits ${width} px`, { timeout: 180_000 }, async () => {
    const ctx = await context(browser, device);
    const page = await ctx.newPage();
    await signIn(page, 'township_admin');
    const problems = [];
    for (const [path, name] of PAGES) {
      const r = await page.goto(`${base}${path}`);
      assert.equal(r.status(), 200, `${path}`);
      for (const v of await wcagViolations(page)) problems.push(`${name} ${path}: ${v}`);
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
      if (scroll > width) problems.push(`${name} ${path}: ${scroll} px wide at ${width} px`);
    }
    // A refused form (422) too: the hours and the reason next to them.
    await page.goto(`${base}/admin/calendar`);
    await page.fill('#w-monday', '08:00-25:00');
    const r = await submit(page, 'form[action="/admin/calendar"] button[type=submit]');
    assert.equal(r.status(), 422);
    assert.equal(await page.inputValue('#w-monday'), '08:00-25:00', 'what was typed is kept');
    assert.match(await page.locator('#w-monday-err').innerText(), /00:00 到 24:00/);
    for (const v of await wcagViolations(page)) problems.push(`calendar, refused: ${v}`);
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
    if (scroll > width) problems.push(`calendar, refused: ${scroll} px wide at ${width} px`);
    console.log(`${label}: ${PAGES.length + 1} rule pages checked`);
    await ctx.close();
    assert.deepEqual(problems, []);
  });
}
