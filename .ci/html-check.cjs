// The HTML report in a real browser (Debian's chromium through playwright-core):
// the matrix renders, cells carry their classes, the filter works, a click opens
// a cell's details, nothing outside the file is requested; a screenshot is kept.
// Usage: NODE_PATH=…/node_modules node .ci/html-check.cjs REPORT.html SCREENSHOT.png
const { chromium } = require('playwright-core');
const { pathToFileURL } = require('node:url');
const path = require('node:path');

(async () => {
const [report, screenshot] = process.argv.slice(2);
const fail = (message) => { console.error(`html check: ${message}`); process.exit(1); };
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
         '--disable-component-update', '--disable-sync', '--disable-quic'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const outside = [];
page.on('request', (request) => { if (!request.url().startsWith('file:')) outside.push(request.url()); });
const errors = [];
page.on('pageerror', (error) => errors.push(String(error)));
await page.goto(pathToFileURL(path.resolve(report)).href);

const rows = await page.locator('table.matrix tbody tr').count();
if (rows < 60) fail(`expected the Jira matrix, found ${rows} rows`);
for (const kind of ['reached', 'forbidden', 'unauthenticated']) {
  if (await page.locator(`td.cell.${kind}`).count() === 0) fail(`no cell of class ${kind}`);
}
const sticky = await page.locator('table.matrix thead th').first().evaluate((th) => getComputedStyle(th).position);
if (sticky !== 'sticky') fail(`headers are ${sticky}, not sticky`);

await page.fill('#filter', 'permissions');
const visible = await page.locator('table.matrix tbody tr:not(.filtered)').allInnerTexts();
if (visible.length !== 2 || !visible.every((row) => row.includes('/permissions'))) {
  fail(`the filter left ${visible.length} rows: ${visible.join(' | ')}`);
}
await page.locator('table.matrix tbody tr:not(.filtered) td.cell.forbidden').first().click();
const details = await page.locator('#details.open').innerText();
if (!details.includes('permissions')) fail(`the details panel shows: ${details}`);
await page.screenshot({ path: screenshot, fullPage: false });
await browser.close();

if (errors.length) fail(`script errors: ${errors.join('; ')}`);
if (outside.length) fail(`requested outside the file: ${outside.join(', ')}`);
console.log(`html check: ${rows} rows, filter and details work, nothing external requested; screenshot ${screenshot}`);
})().catch((error) => { console.error(`html check: ${error}`); process.exit(1); });
