// 代为上报: a grid worker files a villager's report through /console/report, with
// and without JavaScript, and finds the case it became; the notices page under the
// same header.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, demo, base, photo, TRACKING, checkAccessibility } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

/** The caotan grid worker's sign-in, from demo.json. */
function worker() {
  const t = demo.townships.find((x) => x.code === 'caotan');
  const login = t.logins.find((l) => l.role === 'grid_worker');
  assert.ok(login, 'the demo lists a grid worker sign-in');
  return login;
}

async function signIn(page) {
  const { login, password } = worker();
  await page.goto(`${base}/login?next=/console/report`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/console/report`), page.click('form button[type=submit]')]);
}

async function fileOne(javaScriptEnabled) {
  const ctx = await context(browser, { viewport: { width: 360, height: 640 } });
  const page = await ctx.newPage();
  // Without JavaScript: none of our scripts loads (axe still runs, through the
  // debugger protocol, as in the citizen's tests).
  if (!javaScriptEnabled) await page.route('**/*.js', (route) => route.abort());
  await signIn(page);
  const label = `the report page (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`;
  await checkAccessibility(page, label);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360, 'nothing wider than the phone');

  // A mistake first: the form comes back with it explained and the text kept.
  await page.selectOption('#category', { index: 1 });
  await page.fill('#description', '村口路灯不亮，王大妈电话反映');
  await page.fill('#contact_phone', '138');
  await Promise.all([page.waitForLoadState('load'), page.click('form.report button[type=submit]')]);
  await page.locator('#contact_phone-err').waitFor();
  assert.equal(await page.inputValue('#description'), '村口路灯不亮，王大妈电话反映');
  await checkAccessibility(page, `${label}, refused`);

  await page.fill('#contact_phone', '13800138000');
  await page.setInputFiles('#photo', photo);
  await Promise.all([page.waitForURL(/\/console\/report\/[0-9a-f-]+$/), page.click('form.report button[type=submit]')]);
  const tracking = (await page.locator('.bigcode').textContent()).trim();
  assert.match(tracking, TRACKING);
  await checkAccessibility(page, `${label}, filed`);

  // Routing makes the case and assigns it; the page then links to it.
  const deadline = Date.now() + 30_000;
  while (!(await page.locator('a[href^="/console/cases/"]').count())) {
    assert.ok(Date.now() < deadline, 'the case link appears within 30 s');
    await page.waitForTimeout(500);
    await page.reload();
  }
  // It reached the worker as a notice too.
  await page.goto(`${base}/console/notices`);
  assert.ok((await page.textContent('main')).includes(tracking), 'a notice of the new case');
  await checkAccessibility(page, `the notices page (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`);
  assert.deepEqual(ctx.foreign, []);
  await ctx.close();
}

test('a worker files a report for a villager with JavaScript', { timeout: 120_000 }, () => fileOne(true));
test('a worker files a report for a villager without JavaScript', { timeout: 120_000 }, () => fileOne(false));
