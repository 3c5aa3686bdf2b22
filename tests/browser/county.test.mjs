// The county centre's pages in Chromium, with and without JavaScript, against the demo: the
// county's administrator creates a township with its first administrator (whose
// one-time code sets a password), suspends and resumes it; the county centre
// supervises a case a township sent up and sets its deadline, and opens another
// township's case read-only with the view recorded. Every county page passes axe's
// WCAG 2.1 AA rules (checked in the run with JavaScript, which axe needs), and the
// supervision page fits a 360 px phone.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, base, demo, qr, submitByApi, checkAccessibility } from './harness.mjs';

const DESKTOP = { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false };
const PHONE = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true };

/** The county's sign-in with `role` (demo.json `county_logins`). */
function countyLogin(role) {
  const found = (demo.county_logins || []).find((l) => l.role === role);
  assert.ok(found, `demo.json has no county sign-in with role ${role}`);
  return found;
}

/** A township's sign-in with `role`. */
function townshipLogin(code, role) {
  const t = demo.townships.find((x) => x.code === code);
  const found = t && t.logins.find((l) => l.role === role);
  assert.ok(found, `demo.json has no ${role} sign-in in ${code}`);
  return found;
}

async function token({ login, password }) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  assert.equal(r.status, 200, `signing ${login} in`);
  return (await r.json()).token;
}

async function api(bearer, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${bearer}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The case of a tracking number, once routing has made it. */
async function caseOf(bearer, number) {
  for (let i = 0; i < 100; i += 1) {
    const list = await api(bearer, 'GET', `/api/v1/cases?q=${encodeURIComponent(number)}`);
    const found = list.cases.find((c) => c.tracking_number === number);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no case for ${number}`);
}

async function signIn(page, who) {
  await page.goto(`${base}/login`);
  await page.fill('#login', who.login);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
}

/** Clicks a form's submit button and waits for the next page. */
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/** `datetime-local` text for a moment, in Beijing time (the demo's townships'). */
function beijing(date) {
  return new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 16);
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

for (const javaScriptEnabled of [true, false]) {
  const how = javaScriptEnabled ? 'with' : 'without';
  /** axe on the page, in the run with JavaScript (axe runs in the page). */
  const a11y = (page, label) => (javaScriptEnabled ? checkAccessibility(page, label) : Promise.resolve());

  test(`the county creates a township with its administrator, suspends and resumes it, ${how} JavaScript`, { timeout: 120_000 }, async () => {
    const ctx = await context(browser, { ...DESKTOP, javaScriptEnabled });
    const page = await ctx.newPage();
    await signIn(page, countyLogin('county_admin'));
    assert.match(page.url(), /\/county$/);
    await a11y(page, '/county (administrator)');

    const n = String(Date.now()).slice(-6);
    const code = `br${n}`;
    const name = `试验${n}镇`;
    const phone = `137${n}${String(Math.floor(Math.random() * 100)).padStart(2, '0')}`;
    await page.fill('#code', code);
    await page.fill('#name', name);
    await page.fill('#admin_name', '周镇管');
    await page.fill('#admin_phone', phone);
    await page.fill('#admin_username', `admin${n}`);
    await submit(page, 'form[action="/county/townships"] button[type=submit]');
    const oneTime = (await page.locator('#code').textContent()).trim();
    assert.match(oneTime, /^\d{8}$/, 'an eight-digit one-time code');
    await a11y(page, 'township created');

    // The administrator sets a password with the code and signs in.
    const newcomer = await context(browser, { ...DESKTOP, javaScriptEnabled });
    const np = await newcomer.newPage();
    await np.goto(`${base}/login/reset`);
    await np.fill('input[name=login]', phone);
    await np.fill('input[name=code]', oneTime);
    await np.fill('input[name=password]', `pw-${n}-first`);
    await np.fill('input[name=password2]', `pw-${n}-first`);
    await submit(np, 'form[action="/login/reset"] button[type=submit]');
    await signIn(np, { login: `admin${n}`, password: `pw-${n}-first` });
    assert.match(np.url(), /\/admin$/);

    // Suspend, after a confirmation: the administrator is signed out.
    await page.goto(`${base}/county`);
    await submit(page, `a[href="/county/townships/${code}/suspend"]`);
    assert.ok((await page.textContent('h1')).includes(name));
    await a11y(page, 'suspend confirmation');
    await submit(page, `form[action="/county/townships/${code}/suspend"] button[type=submit]`);
    assert.match(page.url(), /\/county\?ok=suspended$/);
    await a11y(page, '/county after suspending');
    const row = page.locator('tr', { has: page.locator(`text=${name}`) });
    assert.match(await row.textContent(), /已暂停/);
    await np.goto(`${base}/admin`);
    assert.match(np.url(), /\/login/, 'the suspended township\'s staff are signed out');

    // Resume: the administrator signs in again.
    await submit(page, `a[href="/county/townships/${code}/resume"]`);
    await submit(page, `form[action="/county/townships/${code}/resume"] button[type=submit]`);
    assert.match(await page.locator('tr', { has: page.locator(`text=${name}`) }).textContent(), /使用中/);
    await signIn(np, { login: phone, password: `pw-${n}-first` });
    assert.match(np.url(), /\/admin$/);
    assert.deepEqual(ctx.foreign, []);
    await newcomer.close();
    await ctx.close();
  });

  test(`the county supervises a case sent up and opens another township's case read-only, ${how} JavaScript`, { timeout: 120_000 }, async () => {
    // 草滩镇's centre sends a case up.
    const number = await submitByApi(qr('caotan').token, { category: 'other', description: '两村争水，需县里协调', contact_phone: '13912345678' });
    const centre = await token(townshipLogin('caotan', 'township_centre'));
    const sent = await caseOf(centre, number);
    await api(centre, 'POST', `/api/v1/cases/${sent.id}/county-request`, { note: '涉及两个村' });

    const ctx = await context(browser, { ...DESKTOP, javaScriptEnabled });
    const page = await ctx.newPage();
    await signIn(page, countyLogin('county_centre'));
    await page.goto(`${base}/county/supervision`);
    await a11y(page, '/county/supervision');
    await submit(page, `a:text("${number}")`);
    assert.match(page.url(), new RegExp(`/county/supervision/caotan/${sent.id}$`));
    await a11y(page, 'supervision of a case');

    // A note with a deadline three days ahead.
    const due = new Date(Date.now() + 3 * 86_400_000);
    await page.fill('#body', '请三日内办结并报县中心');
    await page.fill('#deadline', beijing(due));
    await submit(page, 'form[action^="/county/supervision/"] button[type=submit]');
    assert.match(page.url(), /\?ok=noted$/);
    const deadline = await page.textContent('#due-h + p');
    assert.match(deadline, /还剩 2 天/, `the deadline and the time left: ${deadline}`);
    assert.ok((await page.textContent('ol.timeline')).includes('请三日内办结并报县中心'));
    await page.goto(`${base}/county/supervision`);
    const line = await page.locator('tr', { has: page.locator(`text=${number}`) }).textContent();
    assert.match(line, /还剩 2 天/);
    // The township sees the county's deadline on its case page.
    const seen = await api(centre, 'GET', `/api/v1/cases/${sent.id}`);
    assert.ok(seen.county_deadline, 'the county deadline is on the case');

    // Another township's case, found by its number, opened with a reason.
    const other = await submitByApi(qr('xinji').token, { category: 'other', description: '桥面塌了一块', contact_phone: '13987654321' });
    await page.goto(`${base}/county/search`);
    await a11y(page, '/county/search');
    await page.fill('#q', other);
    await submit(page, 'form[action="/county/search"] button[type=submit]');
    await a11y(page, '/county/search with results');
    await submit(page, `a[href^="/county/cases/xinji/"]`);
    await a11y(page, 'why open the case');
    await page.check('input[name=reason][value=verification]');
    await page.fill('#reason_text', '核实办理进度');
    await submit(page, 'form[action^="/county/cases/"] button[type=submit]');
    assert.match(page.url(), /\/county\/views\/xinji\//);
    const body = await page.textContent('main');
    assert.ok(body.includes('桥面塌了一块') && body.includes('只读查阅'), 'the case, read-only');
    assert.ok(body.includes('139****4321') && !body.includes('13987654321'), 'the phone masked');
    assert.equal(await page.locator('form[action^="/console/cases/"]').count(), 0, 'no action forms');
    await a11y(page, 'a township\'s case, read-only');

    // The view is recorded.
    await page.goto(`${base}/county/views`);
    const record = await page.locator('tr', { has: page.locator(`text=${other}`) }).first().textContent();
    assert.match(record, /核查：核实办理进度/);
    await a11y(page, '/county/views');
    // The county's dashboard: the league table with every township, one opened on a
    // click, and the cases behind a number found through the search.
    await page.goto(`${base}/county/dashboard`);
    const board = await page.textContent('main');
    assert.ok(board.includes('乡镇排名'), 'the league table');
    for (const t of demo.townships) assert.ok(board.includes(t.name), `${t.name} is ranked`);
    await a11y(page, '/county/dashboard');
    await submit(page, `a[href*="township=${demo.townships[0].code}"]`);
    assert.ok((await page.textContent('#township')).includes('受理量'), 'the township opened');
    await a11y(page, 'a township opened on the county dashboard');
    await submit(page, '#township a[href^="/county/dashboard/cases"]');
    assert.ok(await page.locator('a[href^="/county/search?q="]').count() > 0, 'the cases behind the number');
    await a11y(page, '/county/dashboard/cases');
    assert.deepEqual(ctx.foreign, []);
    await ctx.close();

    // On a phone the supervision list is cards, not wider than the screen (measured
    // in the page, so in the run with JavaScript).
    if (javaScriptEnabled) {
      const phone = await context(browser, { ...PHONE, javaScriptEnabled });
      const small = await phone.newPage();
      await signIn(small, countyLogin('county_centre'));
      await small.goto(`${base}/county/supervision`);
      const width = await small.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `the page is ${width}px wide on a 360px phone`);
      await a11y(small, '/county/supervision on a phone');
      await phone.close();
    }
  });
}
