// A villager reports through the QR landing page: with JavaScript, without it, over a
// network that drops, and with text that looks like code.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, context, qr, photo, sequence, TRACKING, submitByApi, statusJson, chooseCategory, origin, submitted,
  recordClip,
} from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function tracking(page) {
  const number = (await page.locator('#tracking').textContent()).trim();
  assert.match(number, TRACKING);
  return number;
}

test('with JavaScript: category, words, photo, voice note and location go in; the tracking number and the status come out', { timeout: 120_000 }, async () => {
  const code = qr('caotan', 0);
  const ctx = await context(browser, {
    geolocation: { latitude: 34.265501, longitude: 108.954203 },
    permissions: ['geolocation', 'microphone'],
  });
  const page = await ctx.newPage();
  const uploads = [];
  page.on('response', (r) => {
    // The body is read at once: after the page moves on, it is gone.
    if (r.url().startsWith(`${origin}/api/v1/attachments`)) uploads.push({ status: r.status(), body: r.json().catch(() => null) });
  });
  const reports = [];
  page.on('request', (r) => {
    if (r.url() === `${origin}/api/v1/reports` && r.method() === 'POST') reports.push(r);
  });

  await page.goto(code.url);
  assert.match(await page.locator('.where').textContent(), /草滩镇.*新庄村.*第一网格/);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  await chooseCategory(page, 'roads');
  await page.fill('#description', '村口路灯坏了，晚上很黑。');
  await page.setInputFiles('#photo', photo);
  await page.locator('#thumbs img').waitFor();

  // A voice note from Chromium's fake microphone: record past one second, stop.
  await page.locator('#voice').waitFor({ state: 'visible' });
  await page.click('#rec');
  await page.locator('#rec-state', { hasText: '0:01' }).waitFor();
  await page.click('#rec');
  await page.locator('#rec-done').waitFor({ state: 'visible' });
  assert.match(await page.locator('#rec-audio').getAttribute('src'), /^blob:/);

  // The location only when asked for.
  assert.equal(await page.inputValue('#lat'), '');
  await page.click('#locate');
  await page.waitForFunction(() => document.getElementById('lat').value !== '');

  await page.fill('#contact_name', '张师傅');
  await page.fill('#contact_phone', '13800138000');
  await page.click('#send');
  await submitted(page);

  const number = await tracking(page);
  assert.equal(number.split('-')[0], code.prefix);
  assert.match(await page.locator('h1').textContent(), /提交成功/);
  assert.match(await page.locator('main').textContent(), /网格员将在30分钟内电话联系您/);

  // What went over the wire: two uploads (photo, voice), then one report naming them.
  assert.deepEqual(uploads.map((u) => u.status), [201, 201], 'the photo and the voice note were uploaded');
  const answers = await Promise.all(uploads.map((u) => u.body));
  assert.deepEqual(answers.map((a) => a.kind), ['photo', 'voice']);
  const ids = answers.map((a) => a.id);
  assert.equal(reports.length, 1);
  const sent = reports[0].postDataJSON();
  assert.deepEqual(sent.attachment_ids, ids);
  assert.equal(sent.category, 'roads');
  assert.equal(sent.website, '', 'the honeypot is sent empty');
  assert.ok(Math.abs(sent.lat - 34.265501) < 1e-5 && Math.abs(sent.lng - 108.954203) < 1e-5);
  assert.match(reports[0].headers()['idempotency-key'], UUID);

  // The link to keep opens the plain status page.
  const link = await page.inputValue('#link');
  assert.ok(link.includes(`/r/${number}?s=`), link);
  const later = await ctx.newPage();
  await later.goto(link);
  assert.equal(await tracking(later), number);
  assert.match(await later.locator('h1').textContent(), /办理进度/);
  assert.match(await later.locator('#current').textContent(), /已提交|已受理/);
  const json = await statusJson(link);
  assert.equal(json.tracking_number, number);
  assert.deepEqual(ctx.foreign, [], 'no request left the server');
  await ctx.close();
});

test('without JavaScript: the plain form reports with a photo and a recording, keeps what was typed when refused, and leads to the status', { timeout: 90_000 }, async () => {
  const code = qr('caotan', 1);
  const voiceClip = await recordClip(browser, code.url);
  const ctx = await context(browser, { javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(code.url);
  assert.equal(await page.locator('#voice').isVisible(), false, 'no voice button without JavaScript');
  assert.equal(await page.locator('#where').isVisible(), false, 'no location button without JavaScript');

  // Refused (nothing said, no photo): the form comes back with the name kept.
  await chooseCategory(page, 'sanitation');
  await page.fill('#contact_name', '李大姐');
  await page.click('#send');
  await page.locator('#errors').waitFor();
  assert.match(await page.locator('#errors').textContent(), /请描述问题或上传照片/);
  assert.equal(await page.inputValue('#contact_name'), '李大姐');
  assert.ok(await page.locator('input[name=category][value=sanitation]').isChecked());

  await page.fill('#description', '垃圾三天没有清运了。');
  await page.setInputFiles('#photo', photo);
  // The phone's own recorder, through the plain file input.
  assert.equal(await page.locator('#voice-in').isVisible(), true);
  await page.setInputFiles('#voice-in', voiceClip);
  await page.click('#send');
  await page.waitForURL(/\/r\/[^?]+\?s=.*new=1/);
  const number = await tracking(page);
  assert.match(await page.locator('main').textContent(), /您没有留手机号/);
  assert.equal(await page.locator('#copy').isVisible(), false, 'the copy button needs JavaScript');
  const link = await page.inputValue('#link');
  await page.goto(link);
  assert.equal(await tracking(page), number);
  assert.deepEqual(ctx.foreign, []);
  await ctx.close();
});

test('a failed send keeps the form, the draft survives a reload, and the retry makes one report', { timeout: 90_000 }, async () => {
  const code = qr('hewan', 0);
  const first = sequence(await submitByApi(code.token));
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const keys = [];
  page.on('request', (r) => {
    if (r.url() === `${origin}/api/v1/reports` && r.method() === 'POST') keys.push(r.headers()['idempotency-key']);
  });
  await page.route('**/api/v1/reports', (route) => route.abort('internetdisconnected'));
  await page.goto(code.url);
  await chooseCategory(page, 'utilities');
  const words = '停水两天了，请尽快处理。';
  await page.fill('#description', words);
  await page.fill('#contact_phone', '13900139000');
  await page.click('#send');
  await page.locator('#msg', { hasText: '网络不好，没有提交成功。您填写的内容已保留，请稍后再点提交。' }).waitFor();
  assert.equal(await page.inputValue('#description'), words);
  assert.equal(await page.locator('#send').isEnabled(), true, 'the button can be tapped again');

  await page.reload();
  await page.locator('#restored').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#description'), words);
  assert.equal(await page.inputValue('#contact_phone'), '13900139000');
  assert.ok(await page.locator('input[name=category][value=utilities]').isChecked());

  await page.unroute('**/api/v1/reports');
  await page.click('#send');
  await submitted(page);
  const number = await tracking(page);
  assert.equal(sequence(number), first + 1, 'exactly one report was made');
  assert.equal(sequence(await submitByApi(code.token)), first + 2, 'and no other one after it');
  assert.equal(keys.length, 2);
  assert.match(keys[0], UUID);
  assert.equal(keys[1], keys[0], 'the idempotency key survived the reload with the draft');

  // Sent: the draft is gone.
  await page.goto(code.url);
  assert.equal(await page.inputValue('#description'), '');
  assert.equal(await page.locator('#restored').isVisible(), false);
  await ctx.close();
});

test('a retry after a lost answer, and a double tap, each make one report', { timeout: 90_000 }, async () => {
  const code = qr('xinji', 0);
  const first = sequence(await submitByApi(code.token));
  const ctx = await context(browser);
  const page = await ctx.newPage();
  let lose = true;
  let posts = 0;
  await page.route('**/api/v1/reports', async (route) => {
    posts += 1;
    if (lose) {
      lose = false;
      await route.fetch(); // the server takes the report…
      return route.abort('connectionreset'); // …and its answer never arrives
    }
    return route.continue();
  });
  await page.goto(code.url);
  await chooseCategory(page, 'safety');
  await page.fill('#description', '桥边护栏断了。');
  await page.click('#send');
  await page.locator('#msg', { hasText: '网络不好' }).waitFor();
  await page.click('#send');
  await submitted(page);
  assert.equal(sequence(await tracking(page)), first + 1, 'the retry got the first answer back');

  await page.goto(code.url);
  await chooseCategory(page, 'safety');
  await page.fill('#description', '路口积水。');
  posts = 0;
  await page.evaluate(() => { const b = document.getElementById('send'); b.click(); b.click(); b.click(); });
  await submitted(page);
  assert.equal(sequence(await tracking(page)), first + 2);
  assert.equal(posts, 1, 'a double tap sends once');
  assert.equal(sequence(await submitByApi(code.token)), first + 3, 'no report was made twice');
  await ctx.close();
});

test('text that looks like code is shown as text and never runs', { timeout: 90_000 }, async () => {
  const code = qr('caotan', 2);
  const payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">';
  const name = '"><img src=x onerror="window.__xss=3">';
  // The Content-Security-Policy is bypassed: escaping alone must hold.
  const ctx = await context(browser, { bypassCSP: true });
  const stray = [];
  ctx.on('request', (r) => { if (/\/x$/.test(new URL(r.url()).pathname)) stray.push(r.url()); });
  const page = await ctx.newPage();

  // 1. The form shown again after a refusal (the plain form: our script held back).
  await page.route('**/static/intake/**', (route) => route.abort());
  await page.goto(code.url);
  await chooseCategory(page, 'other');
  await page.fill('#description', payload);
  await page.fill('#contact_name', name);
  await page.fill('#contact_phone', '123');
  await page.click('#send');
  await page.locator('#errors').waitFor();
  assert.equal(await page.inputValue('#description'), payload);
  assert.equal(await page.inputValue('#contact_name'), name);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.locator('img[src=x]').count(), 0);
  await page.unroute('**/static/intake/**');

  // 2. The draft restored from localStorage.
  await page.goto(code.url);
  await chooseCategory(page, 'other');
  await page.fill('#description', payload);
  await page.fill('#contact_name', name);
  await page.reload();
  await page.locator('#restored').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#description'), payload);
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // 3. Sent, then the after-submission and status pages.
  await page.click('#send');
  await submitted(page);
  await tracking(page);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  const link = await page.inputValue('#link');
  const response = await page.goto(link);
  assert.match(response.headers()['content-security-policy'] || '', /script-src 'self'/);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(stray, [], 'no <img src=x> was ever made');
  // No staff page shows a report's description yet; when one does, check it here too.
  await ctx.close();
});

test('a robot that fills the hidden field gets no report', { timeout: 60_000 }, async () => {
  const code = qr('hewan', 1);
  const first = sequence(await submitByApi(code.token));
  const ctx = await context(browser);
  const page = await ctx.newPage();
  await page.goto(code.url);
  const trap = page.locator('#website');
  assert.equal(await trap.getAttribute('tabindex'), '-1');
  assert.equal(await trap.getAttribute('autocomplete'), 'off');
  assert.equal(await page.locator('.hp').getAttribute('aria-hidden'), 'true');
  const box = await trap.boundingBox();
  assert.ok(!box || box.x + box.width <= 0 || box.width <= 1, `people do not see it: ${JSON.stringify(box)}`);
  await chooseCategory(page, 'other');
  await page.fill('#description', '广告');
  await trap.evaluate((el) => { el.value = 'https://spam.example'; });
  await page.click('#send');
  await page.locator('#msg').waitFor({ state: 'visible' });
  assert.ok(!page.url().includes('/r/'));
  assert.equal(sequence(await submitByApi(code.token)), first + 1, 'no report was made');
  await ctx.close();
});

test('the name and phone are never kept on the device, and nothing is left once the report is sent', { timeout: 90_000 }, async () => {
  const code = qr('hewan', 1);
  const key = `mashang-draft:${code.token}`;
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const everything = () => page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));

  // A draft an earlier version left on the phone, name and phone included.
  await page.goto(code.url);
  await page.evaluate((k) => localStorage.setItem(k, JSON.stringify({
    description: '旧的草稿', contact_name: '王大妈', contact_phone: '13700137000', saved: Date.now(),
  })), key);
  await page.reload();
  await page.locator('#restored').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#description'), '旧的草稿');
  assert.equal(await page.inputValue('#contact_phone'), '', 'an old draft’s phone is not shown again');
  const cleaned = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!cleaned.includes('13700137000') && !cleaned.includes('王大妈'), cleaned);

  await chooseCategory(page, 'utilities');
  await page.fill('#description', '水管漏水。');
  await page.fill('#contact_name', '李四');
  await page.fill('#contact_phone', '13900139001');
  const onDevice = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(onDevice.includes('水管漏水'), 'the words are kept as a draft');
  assert.ok(!onDevice.includes('13900139001') && !onDevice.includes('李四'), onDevice);
  // A reload in the same tab keeps them; another tab on the shared phone never sees them.
  await page.reload();
  assert.equal(await page.inputValue('#contact_phone'), '13900139001');
  const other = await ctx.newPage();
  await other.goto(code.url);
  assert.equal(await other.inputValue('#description'), '水管漏水。');
  assert.equal(await other.inputValue('#contact_name'), '');
  assert.equal(await other.inputValue('#contact_phone'), '');
  await other.close();

  await page.click('#send');
  await submitted(page);
  const left = await everything();
  for (const trace of ['13900139001', '李四', '13700137000', '水管漏水']) {
    assert.ok(!left.includes(trace), `${trace} is still stored: ${left}`);
  }
  await page.goto(code.url);
  assert.equal(await page.inputValue('#contact_name'), '');
  assert.equal(await page.inputValue('#contact_phone'), '');
  assert.equal(await page.locator('#restored').isVisible(), false);
  await ctx.close();
});
