// The grid worker's console, with and without JavaScript: sign in, open a case,
// acknowledge it with a standard phrase, resolve it with a photo from the file input,
// see the photo in the timeline; with JavaScript the countdown of a late case is red.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, demo, base, photo, checkAccessibility } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

function worker(township) {
  const t = demo.townships.find((x) => x.code === township);
  const login = t && t.logins.find((l) => l.role === 'grid_worker');
  assert.ok(login, `a grid worker sign-in for ${township}`);
  return login;
}

async function signIn(page, login) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=login]', login.login);
  await page.fill('input[name=password]', login.password);
  await Promise.all([page.waitForURL(/\/console/), page.click('main button[type=submit]')]);
}

/** Opens the first case waiting for its first call (it offers 已电话联系). */
async function openNewCase(page) {
  await page.goto(`${base}/console`);
  const hrefs = await page.locator('a.case-card').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  for (const href of hrefs) {
    await page.goto(base + href);
    if (await page.locator('#do-acknowledge').count()) return href;
  }
  assert.fail('no case awaits a first call');
}

async function work(page, js) {
  const href = await openNewCase(page);
  await page.click('#do-acknowledge summary');
  if (js) await checkAccessibility(page, 'a case with its first-call form open');
  const chip = page.locator('#do-acknowledge button.chip').first();
  const phrase = await chip.getAttribute('data-text');
  await chip.click();
  if (!js) await page.locator('#do-acknowledge[open]').waitFor(); // the page again, the form open
  assert.equal((await page.inputValue('#acknowledge-summary')).trim(), phrase, 'the phrase fills the summary');
  assert.ok(page.url().includes(href.split('?')[0]) || !js);
  await Promise.all([page.waitForURL(/ok=acknowledge/), page.click('#do-acknowledge button.big')]);
  assert.match(await page.locator('p.ok').textContent(), /已记录联系群众/);

  await page.click('#do-resolve summary');
  await page.fill('#resolve-measures', '已更换损坏的设施');
  await page.setInputFiles('#resolve-photos', photo);
  await Promise.all([page.waitForURL(/ok=resolve/), page.click('#do-resolve button.big')]);
  const first = page.locator('ol.timeline li').first();
  assert.match(await first.textContent(), /办结/);
  assert.match(await first.textContent(), /已更换损坏的设施/);
  const img = first.locator('ul.thumbs img');
  await img.waitFor();
  assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the photo shows');
}

test('with JavaScript: red countdown, phrase filled in place, resolved with a photo', { timeout: 120_000 }, async () => {
  const ctx = await context(browser, { viewport: { width: 360, height: 640 } });
  const page = await ctx.newPage();
  await signIn(page, worker('caotan'));
  await page.goto(`${base}/console`);
  // The demo's late case: its countdown says overdue, in red.
  const late = page.locator('a.case-card .left.urgent').first();
  await late.waitFor();
  assert.match(await late.textContent(), /已超时/);
  const colour = await late.evaluate((el) => getComputedStyle(el).color);
  assert.equal(colour, 'rgb(179, 38, 30)');
  await checkAccessibility(page, 'my cases');
  await work(page, true);
  await checkAccessibility(page, 'a resolved case');
  assert.deepEqual(ctx.foreign, [], 'no request to another host');
  await ctx.close();
});

test('without JavaScript: the same work through plain forms', { timeout: 120_000 }, async () => {
  const ctx = await context(browser, { javaScriptEnabled: false, viewport: { width: 360, height: 640 } });
  const page = await ctx.newPage();
  await signIn(page, worker('xinji'));
  await work(page, false);
  await ctx.close();
});
