// The citizen's pages pass an automated accessibility check, and speak English when
// asked to.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, qr, photo, base, checkAccessibility, chooseCategory, submitted } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

test('axe-core finds no serious or critical problem on the landing, after-submission and status pages', { timeout: 120_000 }, async () => {
  const code = qr('caotan', 0);
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(code.url);
  await page.locator('#where').waitFor({ state: 'visible' });
  await checkAccessibility(page, 'landing page');

  await chooseCategory(page, 'dispute');
  await page.click('#send'); // nothing said, nothing shown: the script's message
  await page.locator('#msg').waitFor({ state: 'visible' });
  await page.setInputFiles('#photo', photo);
  await page.locator('#thumbs img').waitFor();
  await checkAccessibility(page, 'landing page with a photo and a message');
  await page.click('#thumbs button'); // and the photo taken out again
  assert.equal(await page.locator('#thumbs li').count(), 0);

  await page.fill('#description', '邻里因为排水沟的事情争吵。');
  await page.fill('#contact_phone', '13700137000');
  await page.click('#send');
  await submitted(page);
  await page.locator('#copy').waitFor({ state: 'visible' });
  await checkAccessibility(page, 'after-submission page');

  const link = await page.inputValue('#link');
  await page.goto(link);
  await checkAccessibility(page, 'status page');

  // The plain form shown again with the server's errors (our script held back).
  await page.route('**/static/intake/**', (route) => route.abort());
  await page.goto(code.url);
  await page.fill('#contact_phone', '12');
  await chooseCategory(page, 'dispute');
  await page.click('#send');
  await page.locator('#errors').waitFor();
  await page.unroute('**/static/intake/**');
  await checkAccessibility(page, 'landing page refused by the server');

  await page.goto(`${base}/q/no-such-code`);
  await checkAccessibility(page, 'unknown code page');
  await page.goto(`${base}/r/CAOTAN-20200101-0001?s=wrong`);
  assert.match(await page.locator('h1').textContent(), /没有找到/);
  await checkAccessibility(page, 'status link that leads nowhere');
  await ctx.close();
});

/** Every control a thumb must hit is at least 48 × 48 px (links inside text excepted). */
async function checkTouchTargets(page, label) {
  const small = await page.evaluate(() =>
    [...document.querySelectorAll('button, a, input, textarea, select, label.cat, audio')]
      .filter((el) => !el.closest('[hidden], .hp, .errors') && !el.classList.contains('vh') && el.type !== 'hidden')
      .map((el) => ({ el, box: el.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && (box.width < 48 || box.height < 48))
      .map(({ el, box }) => `${el.tagName.toLowerCase()}#${el.id || ''}.${el.className} ${Math.round(box.width)}×${Math.round(box.height)}`));
  console.log(`touch targets on ${label}: ${small.length ? small.join(', ') : 'all at least 48 × 48 px'}`);
  assert.deepEqual(small, [], `touch targets under 48 px on ${label}`);
}

test('every control is a large touch target', { timeout: 60_000 }, async () => {
  const code = qr('caotan', 2);
  const ctx = await context(browser, { permissions: ['microphone'] });
  const page = await ctx.newPage();
  await page.goto(code.url);
  await page.locator('#voice').waitFor({ state: 'visible' });
  await page.setInputFiles('#photo', photo);
  await page.locator('#thumbs img').waitFor();
  await page.click('#rec');
  await page.locator('#rec-state', { hasText: '0:01' }).waitFor();
  await page.click('#rec');
  await page.locator('#rec-done').waitFor({ state: 'visible' });
  await checkTouchTargets(page, 'landing page');
  await chooseCategory(page, 'other');
  await page.fill('#description', '测试触控区域');
  await page.click('#thumbs button');
  await page.click('#rec-del');
  await page.click('#send');
  await submitted(page);
  await checkTouchTargets(page, 'after-submission page');
  await ctx.close();
});

test('English through ?lang=en or Accept-Language, Chinese otherwise', { timeout: 90_000 }, async () => {
  const code = qr('caotan', 1);

  const zh = await context(browser);
  const zhPage = await zh.newPage();
  await zhPage.goto(code.url);
  assert.equal(await zhPage.locator('#send').textContent(), '提交');
  assert.match(await zhPage.locator('main').textContent(), /手机号仅负责处理的网格员可见/);
  await zhPage.click('a.lang');
  await zhPage.waitForURL(/lang=en/);
  assert.equal(await zhPage.locator('html').getAttribute('lang'), 'en');
  assert.equal(await zhPage.locator('#send').textContent(), 'Submit');
  await zh.close();

  const en = await context(browser, { locale: 'en-US' });
  const page = await en.newPage();
  await page.goto(code.url);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await page.locator('h1').textContent(), 'Report a problem');
  assert.equal(await page.locator('#send').textContent(), 'Submit');
  assert.match(await page.locator('.cats').textContent(), /Roads and traffic/);
  assert.match(await page.locator('main').textContent(), /Only the grid worker handling your report can see your number/);
  await checkAccessibility(page, 'English landing page');

  await chooseCategory(page, 'roads');
  await page.fill('#description', 'Pothole at the village entrance.');
  await page.fill('#contact_phone', '13600136000');
  await page.click('#send');
  await submitted(page);
  assert.match(await page.locator('h1').textContent(), /Your report is sent/);
  assert.match(await page.locator('main').textContent(), /The grid worker will call you within 30 minutes/);
  assert.match(await page.locator('main').textContent(), /Tracking number/);

  // ?lang=zh wins over the browser's English.
  await page.goto(`${code.url}?lang=zh`);
  assert.equal(await page.locator('#send').textContent(), '提交');
  await en.close();
});
