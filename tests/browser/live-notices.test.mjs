// A grid worker with the console open hears of a new case at once: the header's
// unread badge goes up and a link to the case appears, without reloading the page
// (server-sent events from /api/v1/inbox/stream).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, demo, base, submitByApi } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

test('a new case shows on the open console at once', { timeout: 90_000 }, async () => {
  const township = demo.townships.find((t) => t.code === 'caotan');
  const worker = township.logins.find((l) => l.role === 'grid_worker');
  const code = township.qr.find((q) => q.node_code === worker.node_code);
  assert.ok(code, 'a QR code of the worker\'s own grid');
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 360, height: 640 }, isMobile: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#login', worker.login);
  await page.fill('#password', worker.password);
  await Promise.all([page.waitForURL(/\/console/), page.click('main button[type=submit]')]);
  // The stream says the count first.
  const badge = page.locator('#unread');
  await page.waitForFunction(() => window.EventSource !== undefined);
  await page.waitForTimeout(1500);
  const before = (await badge.isHidden()) ? 0 : Number((await badge.textContent()).replace('+', ''));

  const number = await submitByApi(code.token, { description: '实时通知测试：路灯不亮' });

  // Within seconds, without a reload: the link to the new case and a higher count.
  const live = page.locator('#live-notice a');
  await live.waitFor({ timeout: 10_000 });
  assert.match(await live.textContent(), new RegExp(number));
  assert.match(await live.getAttribute('href'), /^\/console\/cases\//);
  const after = Number((await badge.textContent()).replace('+', ''));
  assert.ok(after > before, `the badge went from ${before} to ${after}`);
  await ctx.close();
});
