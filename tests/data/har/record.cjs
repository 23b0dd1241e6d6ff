// Records tests/data/har/browser.har: Chromium (through playwright-core's
// recordHar) browsing the role-model test service with several credentials.
// It starts nothing itself: give it the URL of a running service.
//
//   cargo run --example demo_server 18766 &
//   NODE_PATH=target/browser-check/node_modules \
//     node tests/data/har/record.cjs http://127.0.0.1:18766 tests/data/har/browser.har 8765
//
// The optional last argument rewrites the service's port in the recording
// (so the fixture does not change with the free port it was recorded on);
// the file is then indented, for readable diffs.
//
// The credentials are the test service's (tests/common/role_server.rs); no
// real secret is recorded. CHROMIUM names the browser (default /usr/bin/chromium).
const { chromium } = require('playwright-core');
const fs = require('node:fs');

(async () => {
  const [base, out, portAs] = process.argv.slice(2);
  if (!base || !out) {
    console.error('usage: node record.cjs BASE_URL OUT.har [PORT_AS]');
    process.exit(2);
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
           '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  const context = await browser.newContext({ recordHar: { path: out, content: 'embed' } });
  const page = await context.newPage();
  // The page itself: a document, then an image and a script it loads (static assets).
  await page.goto(`${base}/public`);
  await page.evaluate(async () => {
    document.cookie = '_ga=GA1.1.1234567890.1700000000; path=/';
    const wait = (el) => new Promise((done) => { el.onload = done; el.onerror = done; });
    const img = document.createElement('img');
    img.src = '/static/logo.png';
    document.body.appendChild(img);
    const script = document.createElement('script');
    script.src = '/static/app.js';
    document.body.appendChild(script);
    await Promise.all([wait(img), wait(script)]);
  });

  const calls = await page.evaluate(async (base) => {
    const basic = (user, password) => 'Basic ' + btoa(`${user}:${password}`);
    const alice = { Authorization: basic('alice', 'alice-password-1') };
    const bob = { Authorization: basic('bob', 'bob-password-22') };
    const reader = { Authorization: 'Bearer reader-token-3f9a1c' };
    const service = { 'X-API-Key': 'service-key-77ab21' };
    const json = { 'Content-Type': 'application/json' };
    const statuses = [];
    // credentials: 'omit' keeps the browser's cookies off the header-authenticated calls.
    const call = async (path, headers = {}, init = {}) => {
      const response = await fetch(path, { credentials: 'omit', headers, ...init });
      statuses.push(`${init.method || 'GET'} ${path} ${response.status}`);
    };
    for (const who of [{}, alice, bob, reader, service]) {
      await call('/me', who);
      await call('/admin/settings', who);
      await call('/items/1', who);
    }
    await call('/items/2', bob);
    await call('/items/2', alice);
    await call('/public?lang=en&page=2', {});
    await call('/query?q=rust&token=query-token-9d8e7f', reader);
    await call('/items', { ...alice, ...json }, { method: 'POST', body: JSON.stringify({ name: 'probe', tags: ['a'] }) });
    await call('/items', { ...reader, ...json }, { method: 'POST', body: JSON.stringify({ name: 'probe', tags: ['a'] }) });
    // A login that sets the session cookie, then the cookie alone.
    await call('/login', json, {
      method: 'POST',
      credentials: 'same-origin',
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
    });
    const withCookie = async (path) => {
      const response = await fetch(path, { credentials: 'same-origin' });
      statuses.push(`GET ${path} (cookie) ${response.status}`);
    };
    await withCookie('/me');
    await withCookie('/admin/settings');
    // Another host (the same service under another name): skipped by init.
    await fetch(base.replace('127.0.0.1', 'localhost') + '/public', { mode: 'no-cors' }).catch(() => {});
    return statuses;
  }, base);
  await context.close();
  await browser.close();
  let text = fs.readFileSync(out, 'utf8');
  const port = new URL(base).port;
  if (portAs && port) {
    text = text.split(`:${port}`).join(`:${portAs}`).split(`"_serverPort":${port}`).join(`"_serverPort":${portAs}`);
  }
  fs.writeFileSync(out, JSON.stringify(JSON.parse(text), null, 2) + '\n');
  console.log(calls.join('\n'));
})().catch((error) => {
  console.error(`record: ${error}`);
  process.exit(1);
});
