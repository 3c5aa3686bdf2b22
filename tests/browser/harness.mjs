// What the browser tests share: the running demo (from the demo.json that
// `mashang demo` writes), Chromium from Debian, a tiny real JPEG, and direct API calls.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

const demoPath = process.env.MASHANG_DEMO_JSON;
if (!demoPath) {
  throw new Error('MASHANG_DEMO_JSON is not set: run these tests through infra/test-browser');
}
/** The demo's description: base_url, townships with their QR codes. */
export const demo = JSON.parse(readFileSync(demoPath, 'utf8'));
/** The server's origin, e.g. http://127.0.0.1:41234 */
export const base = demo.base_url.replace(/\/$/, '');
export const origin = new URL(base).origin;

/** A QR code of a township (by its code: caotan, xinji, hewan). */
export function qr(township, index = 0) {
  const t = demo.townships.find((x) => x.code === township);
  assert.ok(t, `demo township ${township} is missing from demo.json`);
  const code = t.qr[index];
  assert.ok(code, `demo township ${township} has no QR code #${index}`);
  return { token: code.token, url: code.url, prefix: t.code.toUpperCase() };
}

/** A real 32×24 JPEG, made once by Chromium's canvas. */
export const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozv/wAARCAAYACADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAAAAEG/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/EABgBAAIDAAAAAAAAAAAAAAAAAAUGAgME/8QAGBEAAwEBAAAAAAAAAAAAAAAAAAEDAgT/2gAMAwEAAhEDEQA/AMoAlPA1dNwioIzwLnTcoCmaRt6dsgAjNIXenbP/2Q==',
  'base64',
);
export const photo = { name: 'lamp.jpg', mimeType: 'image/jpeg', buffer: JPEG };

/** `CAOTAN-20261126-0042` → 42. */
export const TRACKING = /^([A-Z0-9]+)-(\d{8})-(\d{4,})$/;
export function sequence(trackingNumber) {
  const m = TRACKING.exec(trackingNumber);
  assert.ok(m, `not a tracking number: ${JSON.stringify(trackingNumber)}`);
  return Number(m[3]);
}

// Without these, Chromium tries to reach Google's servers here and stalls. Playwright
// adds --headless and a fresh temporary --user-data-dir of its own to every launch.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=Translate,OptimizationHints,MediaRouter',
  // A fake microphone that needs no permission prompt, for the voice note.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Launches Debian's Chromium; never a browser downloaded by Playwright. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    timeout: 60_000,
  });
}

/** A fresh context that fails the test on any request to another host. */
export async function context(browser, options = {}) {
  // A phone's screen.
  const ctx = await browser.newContext({
    locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, ...options,
  });
  ctx.foreign = [];
  ctx.refused = [];
  ctx.on('response', (r) => {
    if (r.status() >= 400 && r.url().includes('/api/')) {
      const entry = { line: `${r.status()} ${r.request().method()} ${r.url().replace(origin, '')}` };
      entry.body = r.text().then((b) => b.slice(0, 300), () => '');
      ctx.refused.push(entry);
    }
  });
  ctx.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !/^(data|blob):/.test(url)) ctx.foreign.push(url);
  });
  return ctx;
}

/** Waits for the after-submission page; fails at once, saying why, if the page
 * shows a message instead. */
export async function submitted(page) {
  const shown = page.locator('#msg');
  const outcome = await Promise.race([
    page.waitForURL(/\/r\/[^?]+\?/, { timeout: 30_000 }).then(() => 'sent'),
    shown.waitFor({ state: 'visible', timeout: 30_000 }).then(() => 'refused'),
  ]);
  if (outcome === 'refused') {
    const words = (await shown.textContent()).trim();
    const refused = await Promise.all(page.context().refused.map(async (e) => `${e.line} ${await e.body}`));
    assert.fail(`the page did not send the report and says: ${words}\n    the server answered: ${refused.join('\n    ') || '(nothing refused)'}`);
  }
}

/** Submits a report straight to the API and returns its tracking number. */
export async function submitByApi(token, extra = {}) {
  const r = await fetch(`${base}/api/v1/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ qr_token: token, category: 'other', description: 'probe from the browser tests', ...extra }),
  });
  const text = await r.text();
  assert.equal(r.status, 201, `a probe report was refused: ${r.status} ${text}`);
  return JSON.parse(text).tracking_number;
}

/** The status as JSON, through the status link. */
export async function statusJson(link) {
  const r = await fetch(link, { headers: { accept: 'application/json' } });
  assert.equal(r.status, 200, `status ${link}: ${r.status}`);
  return r.json();
}

/** A short real voice recording (WebM/Opus) from Chromium's fake microphone. */
export async function recordClip(browser, url) {
  const ctx = await browser.newContext({ permissions: ['microphone'] });
  const page = await ctx.newPage();
  await page.goto(url);
  const base64 = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const recorder = new MediaRecorder(stream, { mimeType: 'audio/webm;codecs=opus' });
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, 800));
    recorder.stop();
    await stopped;
    stream.getTracks().forEach((t) => t.stop());
    const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
    let text = '';
    bytes.forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text);
  });
  await ctx.close();
  return { name: 'voice.webm', mimeType: 'audio/webm', buffer: Buffer.from(base64, 'base64') };
}

/** Picks the category `code` on the landing page (the radio is drawn as a big label). */
export async function chooseCategory(page, code) {
  await page.locator(`input[name=category][value="${code}"] + label`).click();
  assert.ok(await page.locator(`input[name=category][value="${code}"]`).isChecked(), `category ${code} chosen`);
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core on the page; fails on serious or critical violations, prints the rest. */
export async function checkAccessibility(page, label) {
  // Through the debugger protocol, so the page's Content-Security-Policy does not block it.
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  const describe = (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.length}× e.g. ${v.nodes[0] && v.nodes[0].target.join(' ')})`;
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const other = result.violations.filter((v) => !bad.includes(v));
  console.log(`axe ${label}: ${bad.length} serious/critical, ${other.length} other` + other.map((v) => `\n    ${describe(v)}`).join(''));
  assert.deepEqual(bad.map(describe), [], `accessibility violations on ${label}`);
}
