// signin.mjs - what the page checks of alerts.test.mjs and workflows.test.mjs
// share (run by api_page_script in tests/api_lib.sh): TAP lines, a check
// that turns an exception into "not ok", chromium's launch, and a
// signed-in page that collects console errors and uncaught exceptions.
// (pages.test.mjs keeps its own: it numbers from an offset and takes a
// screenshot of a failed check's page.)

import path from 'node:path';

let n = 0;
let failed = 0;

export function report(ok, desc, diag) {
  n += 1;
  console.log(`${ok ? 'ok' : 'not ok'} ${n} - ${desc}`);
  if (!ok) {
    failed += 1;
    for (const line of String(diag || '').split('\n').slice(0, 20)) console.log(`#   ${line}`);
  }
}

export async function check(desc, fn) {
  try {
    await fn();
    report(true, desc);
  } catch (e) {
    report(false, desc, e && e.message ? e.message : String(e));
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

export function failures() {
  return failed;
}

// Headless chromium (TC_CHROMIUM), as the test machines can run it.
export function launch(chromium) {
  return chromium.launch({
    executablePath: process.env.TC_CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
}

// A new browser context signed in as login at base.  Console errors and
// uncaught exceptions go to problems, but for those provoked(text, url)
// says the test caused on purpose (a 401 before signing in always is).
export async function signIn(browser, { base, login, password, wait, problems, provoked }) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  ctx.setDefaultTimeout(wait);
  const page = await ctx.newPage();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = (msg.location() || {}).url || '';
    if (/status of 401/.test(msg.text()) && /\/api\/v1\/(me|login)$/.test(url)) return;
    if (provoked && provoked(msg.text(), url)) return;
    problems.push(`${login}: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`${login}: uncaught ${err.message}`));
  await page.goto(`${base}/#/login`);
  await page.getByLabel('Login', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

// A full-page screenshot into dir (nothing when dir is empty).
export async function shoot(page, dir, name) {
  if (dir) await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
