// The township centre's pages in a browser, with and without JavaScript: the centre
// dispatches a case from the triage queue, approves a grid worker's invalid request,
// and records an unsatisfied follow-up call, which reopens the case.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, qr, base, demo, submitByApi } from './harness.mjs';

// 新集镇 holds new cases for its centre's triage (the demo sets it so).
const TOWNSHIP = 'xinji';
const township = demo.townships.find((t) => t.code === TOWNSHIP);
const login = (role) => township.logins.find((l) => l.role === role);

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

async function api(token, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function token(role) {
  const { login: who, password } = login(role);
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: who, password }),
  });
  return (await r.json()).token;
}

/** The case of a tracking number, as the centre sees it. */
async function caseOf(centre, number) {
  for (let i = 0; i < 100; i += 1) {
    const list = await api(centre, 'GET', `/api/v1/cases?q=${encodeURIComponent(number)}`);
    const found = list.cases.find((c) => c.tracking_number === number);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no case for ${number}`);
}

async function signIn(page, role) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=login]', login(role).login);
  await page.fill('input[name=password]', login(role).password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

/** Dispatches the case from its screen of the triage queue to the grid's worker, who
 * is chosen already; the queue comes back. */
async function dispatch(page, id) {
  await page.goto(`${base}/console/queue?case=${id}`);
  const chosen = await page.locator('#to option:checked').textContent();
  assert.match(chosen, /网格员/, `the grid's worker is chosen: ${chosen}`);
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/dispatch"] button[type=submit]')]);
  assert.match(page.url(), /\/console\/queue/);
}

for (const javaScriptEnabled of [true, false]) {
  const how = javaScriptEnabled ? 'with' : 'without';
  test(`the centre dispatches, approves an invalid request and reopens on an unsatisfied follow-up, ${how} JavaScript`, { timeout: 120_000 }, async () => {
    const code = qr(TOWNSHIP, 0);
    const centre = await token('township_centre');
    const worker = await token('grid_worker');
    const ctx = await context(browser, { javaScriptEnabled, viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false });
    const page = await ctx.newPage();
    await signIn(page, 'township_centre');

    // Two new reports wait for triage; the centre dispatches both from the queue.
    const first = await submitByApi(code.token, { category: 'dispute', description: `广告信息 ${how}` });
    const second = await submitByApi(code.token, { category: 'dispute', description: `水渠堵塞 ${how}` });
    const a = await caseOf(centre, first);
    const b = await caseOf(centre, second);
    assert.equal(a.state, 'created');
    await dispatch(page, a.id);
    await dispatch(page, b.id);
    assert.equal((await api(centre, 'GET', `/api/v1/cases/${a.id}`)).state, 'assigned');

    // The worker asks to invalidate the first; the centre approves it.
    await api(worker, 'POST', `/api/v1/cases/${a.id}/request-invalid`, { reason: { code: 'spam' }, note: '广告' });
    await page.goto(`${base}/console/approvals`);
    const approve = page.locator(`form[action="/console/cases/${a.id}/approve-invalid"]`);
    await approve.locator('textarea').fill('确认是广告');
    await Promise.all([page.waitForNavigation(), approve.locator('button').click()]);
    assert.match(page.url(), /\/console\/approvals\?ok=|\/console\/approvals$/);
    assert.equal((await api(centre, 'GET', `/api/v1/cases/${a.id}`)).state, 'invalid');
    assert.equal(await page.locator(`form[action="/console/cases/${a.id}/approve-invalid"]`).count(), 0);

    // The worker resolves the second; the citizen is not satisfied: the case reopens.
    await api(worker, 'POST', `/api/v1/cases/${b.id}/acknowledge`, { contacted_at: new Date().toISOString(), method: 'phone', summary: '已联系' });
    await api(worker, 'POST', `/api/v1/cases/${b.id}/start`, {});
    await api(worker, 'POST', `/api/v1/cases/${b.id}/resolve`, { measures: '清理了水渠' });
    await page.goto(`${base}/console/follow-ups`);
    const call = page.locator(`form[action="/console/cases/${b.id}/follow-up"]`);
    await call.getByLabel('电话').check();
    await call.getByLabel('未解决').check();
    await call.getByLabel('不满意', { exact: true }).check();
    await call.locator('textarea').fill('水还是不通');
    await Promise.all([page.waitForNavigation(), call.locator('button').click()]);
    assert.match(page.url(), /\/console\/follow-ups$/);
    assert.equal((await api(centre, 'GET', `/api/v1/cases/${b.id}`)).state, 'reopened');
    assert.equal(await page.locator(`form[action="/console/cases/${b.id}/follow-up"]`).count(), 0);
    assert.deepEqual(ctx.foreign, []);
    await ctx.close();
  });
}
