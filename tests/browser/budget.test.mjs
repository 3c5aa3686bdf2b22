// The landing page on a cheap phone: what it weighs over the wire, and how soon it is
// usable on a slow 3G connection.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, qr, origin } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

const BUDGET = 50 * 1024;
const USABLE_WITHIN_MS = 2000;

/** Waits until `check()` holds, polling; fails after `ms`. */
async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the landing page with its CSS and JS weighs at most 50 KB over the wire and asks no other host', { timeout: 60_000 }, async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  const sent = new Map();
  const done = new Map();
  const encoding = new Map();
  cdp.on('Network.requestWillBeSent', (e) => sent.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceived', (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    encoding.set(e.requestId, h['content-encoding'] || 'identity');
  });
  cdp.on('Network.loadingFinished', (e) => done.set(e.requestId, e.encodedDataLength));
  cdp.on('Network.loadingFailed', (e) => done.set(e.requestId, 0));

  await page.goto(qr('caotan', 3).url, { waitUntil: 'load' });
  await until(() => [...sent.keys()].every((id) => done.has(id)), 10_000, 'every request to finish');

  let total = 0;
  const lines = [];
  for (const [id, url] of sent) {
    const bytes = done.get(id);
    total += bytes;
    lines.push(`    ${String(bytes).padStart(7)} B  ${encoding.get(id) || '-'}  ${url.replace(origin, '')}`);
  }
  console.log(`landing page weight: ${total} B (${(total / 1024).toFixed(1)} KB) transferred in ${sent.size} requests, budget ${BUDGET} B\n${lines.join('\n')}`);
  const urls = [...sent.values()];
  assert.ok(urls.some((u) => u.endsWith('.css')) && urls.some((u) => u.endsWith('.js')), 'the stylesheet and script were counted');
  assert.deepEqual(urls.filter((u) => !u.startsWith(origin) && !/^(data|blob):/.test(u)), [], 'no request to another host');
  assert.deepEqual(ctx.foreign, []);
  assert.ok(total <= BUDGET, `landing page is ${total} B, over the ${BUDGET} B budget`);

  // A second visit takes the stylesheet and script from the browser's cache.
  sent.clear();
  done.clear();
  await page.goto(qr('caotan', 3).url, { waitUntil: 'load' });
  await until(() => [...sent.keys()].every((id) => done.has(id)), 10_000, 'every request to finish');
  const second = [...done.values()].reduce((a, b) => a + b, 0);
  console.log(`second visit: ${second} B transferred (stylesheet and script from the cache)`);
  assert.ok(second < total / 2, `second visit transferred ${second} B`);
  await ctx.close();
});

test('on slow 3G (classic preset: 400 ms latency, 400 kbit/s down and up) the landing page is usable within 2 s', { timeout: 60_000 }, async () => {
  const ctx = await context(browser);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 400,
    downloadThroughput: (400 * 1000) / 8,
    uploadThroughput: (400 * 1000) / 8,
    connectionType: 'cellular3g',
  });
  const started = Date.now();
  await page.goto(qr('caotan', 3).url, { waitUntil: 'domcontentloaded' });
  await page.locator('#send').waitFor({ state: 'visible' });
  const buttonVisible = Date.now() - started;
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
  await page.waitForFunction(() => document.readyState === 'complete');
  const t = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      dcl: Math.round(nav.domContentLoadedEventEnd),
      fcp: Math.round(performance.getEntriesByName('first-contentful-paint')[0].startTime),
      load: Math.round(nav.loadEventEnd),
    };
  });
  const usable = Math.max(t.dcl, t.fcp);
  console.log(`slow 3G (400 ms, 400 kbit/s): DOMContentLoaded ${t.dcl} ms, first contentful paint ${t.fcp} ms, ` +
    `submit button visible ${buttonVisible} ms after navigation began (wall clock), load (script in) ${t.load} ms`);
  assert.ok(usable <= USABLE_WITHIN_MS, `usable after ${usable} ms on slow 3G`);
  assert.ok(buttonVisible <= USABLE_WITHIN_MS + 500, `submit button visible after ${buttonVisible} ms`);
  // The enhanced form (the script arrives asynchronously) is ready too, if later.
  await page.locator('#where').waitFor({ state: 'visible' });
  await ctx.close();
});
