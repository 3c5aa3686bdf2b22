// The township's dashboard in Chromium against the demo, on a 360 × 640 phone with and
// without JavaScript: the township centre sees the headline figures, the charts with
// their data tables and the tables per village, grid and worker, the page fits the
// phone (wide tables scroll inside their box), a number leads to the cases behind it
// and a case opens in the console; a bad period is said.
// Every page passes axe's WCAG 2.1 AA rules (in the run with JavaScript).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, context, base, demo, checkAccessibility } from './harness.mjs';

const PHONE = { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true };
const township = demo.townships.find((t) => t.logins.some((l) => l.role === 'township_centre'));
const centre = township.logins.find((l) => l.role === 'township_centre');

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close(); });

async function signIn(page, who) {
  await page.goto(`${base}/login`);
  await page.fill('input[name=login]', who.login);
  await page.fill('input[name=password]', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
}

for (const javaScriptEnabled of [true, false]) {
  const how = javaScriptEnabled ? 'with' : 'without';
  test(`the township centre reads the dashboard on a phone and opens the cases behind a number, ${how} JavaScript`, { timeout: 120_000 }, async () => {
    const ctx = await context(browser, { ...PHONE, javaScriptEnabled });
    const page = await ctx.newPage();
    const a11y = (label) => (javaScriptEnabled ? checkAccessibility(page, label) : Promise.resolve());
    await signIn(page, centre);

    // The header leads to the dashboard.
    assert.ok(await page.locator('header.bar a[href="/dashboard"]').count(), 'the header links 统计');
    await page.goto(`${base}/dashboard`);
    const main = await page.textContent('main');
    for (const words of ['主要指标', '及时响应率', '满意率', '各村（社区）', '各网格员', '全部指标', '现在超时的案件']) {
      assert.ok(main.includes(words), `the dashboard shows ${words}`);
    }
    assert.ok(await page.locator('figure.chart svg[role=img]').count() >= 2, 'the trend charts are drawn');
    assert.ok(await page.locator('figure.chart table.chart-data').count() >= 2, 'each chart has its data as a table');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the dashboard is ${width}px wide on a 360px phone`);
    await a11y('/dashboard on a phone');

    // The reports tile leads to the cases; a case opens in the console.
    await Promise.all([page.waitForNavigation(), page.click('.tile a[href*="figure=reports"]')]);
    assert.match(page.url(), /\/dashboard\/cases\?/);
    assert.ok((await page.textContent('main')).includes('受理量'));
    await a11y('/dashboard/cases');
    const first = page.locator('a[href^="/console/cases/"]').first();
    assert.ok(await first.count(), 'the demo township has cases in the last 30 days');
    await Promise.all([page.waitForNavigation(), first.click()]);
    assert.match(page.url(), /\/console\/cases\//);

    // A period typed wrong is said, and the last 30 days are shown meanwhile.
    await page.goto(`${base}/dashboard?from=2026-02-30&to=2026-03-01`);
    assert.ok((await page.textContent('.err')).includes('年-月-日'));
    assert.ok((await page.textContent('main')).includes('主要指标'));
    await ctx.close();
  });
}
