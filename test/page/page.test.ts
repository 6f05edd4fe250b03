import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { PAGE_CSP } from '../../src/http/routes/page.js';
import { filler, ROOT, startApp, type TestApp } from '../helpers/app.js';

// Debian's chromium (CI installs it in .ci/run); never a downloaded browser.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = path.join(ROOT, 'test-output');
const KEY = 'page-test-key';
// Page-side callbacks run in Chromium; this program is compiled without the DOM types.
declare const document: any;
declare const sessionStorage: any;

let t: TestApp;
let origin: string;
let browser: Browser;

before(async () => {
  t = await startApp({ API_KEYS: KEY });
  origin = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  try {
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  } catch (err) {
    throw new Error(`Chromium did not start from ${CHROMIUM} (install Debian's chromium, or set CHROMIUM_PATH): ${(err as Error).message}`);
  }
});
after(async () => {
  await browser?.close();
  await t.close();
});

/** A page that records console errors, page errors and every URL it requests. */
async function open(url: string): Promise<{ page: Page; errors: string[]; requests: { url: string; auth: string | undefined }[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const errors: string[] = [];
  const requests: { url: string; auth: string | undefined }[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push({ url: r.url(), auth: r.headers()['authorization'] }));
  await page.goto(url, { waitUntil: 'networkidle0' });
  return { page, errors, requests };
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');

async function scoreDirect(item: { prompt: string; response: string }): Promise<number> {
  const r = await t.app.inject({ method: 'POST', url: '/score', payload: { items: [item] }, headers: { authorization: `Bearer ${KEY}` } });
  return r.json().rewards[0];
}

test('the page asks for the key, scores, compares, ranks and plots the watch, calling only its own origin', async () => {
  const res = await fetch(`${origin}/`);
  assert.equal(res.status, 200, 'the page needs no key');
  assert.equal(res.headers.get('content-security-policy'), PAGE_CSP);
  assert.match(PAGE_CSP, /script-src 'self';/);
  assert.doesNotMatch(await res.text(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');

  // Items of growing length, so the scatter and the length correlation have something to show.
  const items = Array.from({ length: 40 }, (_, i) => ({ prompt: filler(i, 8), response: filler(i + 50, 5 + 3 * i) }));
  const fed = await t.app.inject({ method: 'POST', url: '/score', payload: { items }, headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(fed.statusCode, 200);

  const { page, errors, requests } = await open(`${origin}/`);
  assert.match(await text(page, '#error'), /asks for an API key/);
  assert.deepEqual(requests.filter((r) => /\/(v1|score|compare|rank)/.test(r.url)), [], 'no API call before a key is given');

  await page.type('#key', KEY);
  await page.click('#key-form button');
  await page.waitForFunction(() => Number(document.body.dataset.plotted) > 0);
  assert.equal(await page.$eval('#error', (e) => (e as any).hidden), true);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reward-server-key')), KEY);

  const prompt = await page.$eval('#prompt', (e) => (e as any).value);
  const response = await page.$eval('#response', (e) => (e as any).value);
  await page.click('#run-score');
  await page.waitForSelector('#score-reward');
  const shown = Number(await text(page, '#score-reward'));
  assert.ok(Math.abs(shown - (await scoreDirect({ prompt, response }))) < 1e-4, `the page shows the served reward (${shown})`);

  await page.click('[data-tab="compare"]');
  await page.click('#run-compare');
  await page.waitForSelector('#p-a-over-b');
  const p = Number(await text(page, '#p-a-over-b'));
  assert.ok(p > 0 && p < 1, `P(a ≻ b) = ${p}`);

  await page.click('[data-tab="rank"]');
  await page.click('#run-rank');
  await page.waitForSelector('#rank-out table');
  assert.equal(await page.$$eval('#rank-out tr', (rows) => rows.length), 4, 'a header and three ranked responses');

  // Let a poll or two add to the trend, then check every plot drew.
  await page.waitForFunction(() => document.querySelectorAll('#plot-trend polyline').length > 0 && document.querySelectorAll('#plot-trend polyline')[0]!.getAttribute('points')!.split(' ').length >= 3, { timeout: 15_000 });
  assert.ok((await page.$$('#plot-hist rect.bar')).length >= 5, 'histogram bars');
  assert.ok((await page.$$('#plot-scatter circle')).length >= 40, 'scatter points');
  assert.match(await text(page, '#figures'), /share beyond ±3 std/);

  fs.mkdirSync(OUTPUT, { recursive: true });
  const shot = path.join(OUTPUT, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000);

  assert.deepEqual(errors, [], 'no console error');
  const docs = await docsIn(page, errors, requests);
  assert.ok(docs >= 5, `${docs} operations listed`);
  const foreign = requests.filter((r) => new URL(r.url).origin !== origin && !r.url.startsWith('data:'));
  assert.deepEqual(foreign, [], 'every request goes to the service');
  const apiCalls = requests.filter((r) => /\/(v1\/|score|compare|rank)/.test(new URL(r.url).pathname));
  assert.ok(apiCalls.length >= 5);
  for (const r of apiCalls) assert.equal(r.auth, `Bearer ${KEY}`, `${r.url} carries the key`);
  await page.close();
});

/** Follows the page's link to /docs in the same tab (the key travels in sessionStorage); the operations Swagger UI lists. */
async function docsIn(page: Page, errors: string[], requests: { url: string; auth: string | undefined }[]): Promise<number> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('header a[href="/docs"]')]);
  await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
  assert.match(await text(page, '.swagger-ui .info .title'), /reward/i);
  await page.screenshot({ path: path.join(OUTPUT, 'docs.png') });
  const spec = requests.find((r) => r.url === `${origin}/openapi.yaml`);
  assert.equal(spec?.auth, `Bearer ${KEY}`, 'Swagger UI fetched the description with the key');
  assert.deepEqual(errors, [], 'no console error on /docs');
  return (await page.$$('.opblock')).length;
}

test('/docs without a key, on a server that asks for one, says where to enter it and calls nothing', async () => {
  const { page, errors, requests } = await open(`${origin}/docs`);
  assert.equal(await page.$eval('#key-needed', (e) => (e as any).hidden), false);
  assert.deepEqual(requests.filter((r) => r.url.endsWith('/openapi.yaml')), []);
  assert.deepEqual(errors, []);
  await page.close();
});
