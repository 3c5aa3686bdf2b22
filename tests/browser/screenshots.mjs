// The staff console's screenshots in docs/screenshots/, taken from the running demo:
// a grid worker's pages on a phone (360 × 640: cases, a case, 代为上报, notices), the
// township centre's, the administrator's rule pages and the county centre's on a desktop
// (1280 × 800). Run through infra/screenshots, which starts the demo; not a test.
//   node screenshots.mjs [output folder]      (default: docs/screenshots of the repository)
// Pages the server does not have (404) are reported and skipped.

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, demo, base } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || `${here}/../../docs/screenshots`);
mkdirSync(out, { recursive: true });

const PHONE = { viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };

/** The sign-in with `role` of the demo's township number `t`. */
function login(role, t) {
  const found = (demo.townships[t].logins || []).find((l) => l.role === role);
  if (!found) throw new Error(`demo.json has no ${role} sign-in in township ${t}`);
  return found;
}

/** A browser context signed in through the sign-in form. */
async function signedIn(browser, role, device, township = 0) {
  const ctx = await browser.newContext({ locale: 'zh-CN', ...device });
  const page = await ctx.newPage();
  const who = login(role, township);
  await page.goto(`${base}/login`);
  await page.fill('#login', who.login);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
  return { ctx, page };
}

/** Opens `path` and saves the visible part as `name`.png; skips pages that are missing. */
async function shoot(page, path, name) {
  // An empty 404 (no route) makes Chromium throw rather than show a page.
  const r = await page.goto(`${base}${path}`).catch((e) => {
    if (/ERR_HTTP_RESPONSE_CODE_FAILURE/.test(e.message)) return { status: () => 404 };
    throw e;
  });
  if (r.status() === 404) {
    console.log(`skipped ${name}: ${path} answers 404`);
    return false;
  }
  if (r.status() !== 200) throw new Error(`${path} answered ${r.status()}`);
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: `${out}/${name}.png` });
  console.log(`${name}.png  ${path}`);
  return true;
}

const browser = await launch();
try {
  const worker = await signedIn(browser, 'grid_worker', PHONE);
  await shoot(worker.page, '/console', 'worker-cases');
  // The first case on the worker's list.
  const href = await worker.page.locator('a[href^="/console/cases/"]').first().getAttribute('href', { timeout: 5_000 }).catch(() => null);
  if (href) await shoot(worker.page, href, 'worker-case');
  else console.log('skipped worker-case: no case link on /console');
  await shoot(worker.page, '/console/report', 'worker-assisted-report-360');
  await shoot(worker.page, '/console/notices', 'worker-notices-360');
  await worker.ctx.close();

  // The queue of the demo's second township, which holds new cases for its centre.
  const triage = await signedIn(browser, 'township_centre', DESKTOP, 1);
  await shoot(triage.page, '/console/queue', 'centre-queue');
  await triage.ctx.close();

  const centre = await signedIn(browser, 'township_centre', DESKTOP);
  for (const [path, name] of [
    ['/console/cases', 'centre-cases'],
    ['/console/overdue', 'centre-overdue'],
    ['/console/approvals', 'centre-approvals'],
    ['/console/follow-ups', 'centre-follow-ups'],
    ['/dashboard', 'dashboard'],
  ]) await shoot(centre.page, path, name);
  await centre.ctx.close();
  const centrePhone = await signedIn(browser, 'township_centre', PHONE);
  await shoot(centrePhone.page, '/dashboard', 'dashboard-360');
  await centrePhone.ctx.close();

  // The administrator's rule pages and the township's change log on a desktop, and
  // the calendar on a phone.
  const admin = await signedIn(browser, 'township_admin', DESKTOP);
  for (const [path, name] of [
    ['/admin/settings', 'admin-settings'],
    ['/admin/sla-policies', 'admin-sla-policies'],
    ['/admin/sla-policies/roads/normal', 'admin-sla-policy'],
    ['/admin/calendar', 'admin-calendar'],
    ['/admin/categories', 'admin-categories'],
  ]) await shoot(admin.page, path, name);
  await shoot(admin.page, '/admin/audit', 'admin-audit');
  await shoot(admin.page, '/admin/channels', 'admin-channels');
  await admin.ctx.close();
  const adminPhone = await signedIn(browser, 'township_admin', PHONE);
  await shoot(adminPhone.page, '/admin/calendar', 'admin-calendar-360');
  await shoot(adminPhone.page, '/admin/channels', 'admin-channels-360');
  await adminPhone.ctx.close();
  await countyShots(browser);
} finally {
  await browser.close();
}

/** A browser context signed in as the county's person with `role`. */
async function countySignedIn(browser, role, device) {
  const who = (demo.county_logins || []).find((l) => l.role === role);
  if (!who) throw new Error(`demo.json has no county sign-in with role ${role}`);
  const ctx = await browser.newContext({ locale: 'zh-CN', ...device });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill('#login', who.login);
  await page.fill('#password', who.password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('form[action="/login"] button[type=submit]')]);
  return { ctx, page, who };
}

/** The county centre's pages (1280 × 800, and the supervision list on a phone). The
 * demo's late case is sent up; the county gives it a deadline through its form first. */
async function countyShots(browser) {
  const admin = await countySignedIn(browser, 'county_admin', DESKTOP);
  await shoot(admin.page, '/county', 'county-townships');
  await admin.ctx.close();
  const adminPhone = await countySignedIn(browser, 'county_admin', PHONE);
  await shoot(adminPhone.page, '/county/mail', 'county-mail-360');
  await adminPhone.ctx.close();

  const centre = await countySignedIn(browser, 'county_centre', DESKTOP);
  const { page } = centre;
  await shoot(page, '/county/dashboard', 'county-dashboard');
  await page.goto(`${base}/county/supervision`);
  const href = await page.locator('a[href^="/county/supervision/"]').first().getAttribute('href', { timeout: 5_000 }).catch(() => null);
  if (href) {
    await page.goto(`${base}${href}`);
    if (await page.locator('#deadline').count()) {
      const due = new Date(Date.now() + 2 * 86_400_000 + 8 * 3600_000).toISOString().slice(0, 16);
      await page.fill('#body', '护栏涉及学生上学安全，请两日内修复并报县综治中心。');
      await page.fill('#deadline', due);
      await Promise.all([page.waitForNavigation(), page.click('form[action^="/county/supervision/"] button[type=submit]')]);
    }
    await shoot(page, '/county/supervision', 'county-supervision');
    await shoot(page, href, 'county-supervised');
  } else {
    console.log('skipped county-supervised: no case sent up in the demo');
    await shoot(page, '/county/supervision', 'county-supervision');
  }
  await shoot(page, '/county/search?q=&township=&state=&from=&to=', 'county-search');
  const open = await page.locator('a[href^="/county/cases/"]').nth(1).getAttribute('href', { timeout: 5_000 }).catch(() => null);
  if (open) {
    await page.goto(`${base}${open}`);
    await page.check('input[name=reason][value=verification]');
    await page.fill('#reason_text', '核实办理进度');
    await Promise.all([page.waitForNavigation(), page.click('form[action^="/county/cases/"] button[type=submit]')]);
    await shoot(page, new URL(page.url()).pathname, 'county-case');
  } else {
    console.log('skipped county-case: the search found no case');
  }
  await shoot(page, '/county/views', 'county-views');
  await centre.ctx.close();

  const phone = await countySignedIn(browser, 'county_centre', PHONE);
  await shoot(phone.page, '/county/supervision', 'county-supervision-360');
  await phone.ctx.close();
}
