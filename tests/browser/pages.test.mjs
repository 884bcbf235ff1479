// pages.test.mjs - the admin pages in headless chromium, driven by
// playwright-core (run by tests/integration/web_pages.sh, which makes the
// users, jobs and server and passes them in the JSON file named by
// TC_WEB_FIXTURES).
//
// Prints one TAP line per check ("ok N - ..." / "not ok N - ..." with
// "#   " diagnostics), no plan: the shell wrapper counts the lines and
// prints the plan.  The last line is "# done" when the script ran to its
// end.  Exit status 0 when every check passed.
//
// Pages are found the way people find them: by role and accessible name
// (the names are the pages' contract).  Waiting is Playwright's own
// auto-waiting, or polling with a deadline (eventually): never a fixed
// sleep.  The database is read with psql (PGHOST etc. come from
// tests/with-pg.sh).  Every console error and uncaught exception of the
// whole run, CSP violations included, is collected and must be none,
// apart from the HTTP errors the checks themselves provoke.
//
// Screenshots of every page at 1280x800 and 390x844 go to fixtures.screens
// ($TC_BUILDDIR/tests/artifacts/screens/), and one of the page on screen
// when a check fails (fail-N.png).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

// playwright-core is found through NODE_PATH (an ES module import would
// ignore it; require does not).
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const fx = JSON.parse(readFileSync(process.env.TC_WEB_FIXTURES, 'utf8'));
const BASE = fx.url;
const WAIT = 15000; // ms: how long an element may take to appear (a busy make -j)
const RUN_WAIT = 30000; // ms: how long a job may take to run
const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const word = Math.random().toString(36).slice(2, 10);

// --- TAP ---------------------------------------------------------------------------

// Numbered after the checks the shell part made (TC_TAP_OFFSET of them), so
// the numbers here, in fail-N.png and in the test's log are the same.
let tapN = Number(process.env.TC_TAP_OFFSET || 0);
let tapFailed = 0;
let onScreen = null; // the page a failed check is about (screenshot)

function report(passed, desc, diag) {
  tapN += 1;
  console.log(`${passed ? 'ok' : 'not ok'} ${tapN} - ${desc}`);
  if (!passed) {
    tapFailed += 1;
    for (const line of String(diag || '').split('\n').slice(0, 30)) console.log(`#   ${line}`);
  }
}

// check DESC FN: one TAP line; FN passes unless it throws.
async function check(desc, fn) {
  try {
    await fn();
    report(true, desc);
    return true;
  } catch (e) {
    report(false, desc, e && e.message ? e.message.split('\n').slice(0, 12).join('\n') : String(e));
    if (onScreen && !onScreen.isClosed()) {
      const file = path.join(fx.screens, `fail-${tapN}.png`);
      try {
        await onScreen.screenshot({ path: file, fullPage: true, timeout: 5000 });
        console.log(`#   screen: ${file}`);
      } catch (e2) { /* the page is gone */ }
    }
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// eventually FN WHAT [TIMEOUT]: poll FN (every 100 ms) until it returns a
// truthy value, which is returned; throws WHAT with the last result seen
// when the deadline passes.
async function eventually(fn, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = `got ${JSON.stringify(v)}`;
    } catch (e) {
      last = e.message.split('\n')[0];
    }
    if (Date.now() >= deadline) throw new Error(`${what} (not within ${timeout} ms; last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- the database ------------------------------------------------------------------

function sql(query) {
  return execFileSync('psql', ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8' }).trim();
}

// --- what the browser says -----------------------------------------------------------

const problems = [];

// HTTP errors the checks provoke on purpose; the browser logs each as a
// console error ("Failed to load resource: ... status of 403"), at the
// resource's URL.
function provoked(status, url) {
  let p;
  try {
    const u = new URL(url);
    p = u.pathname + u.search;
  } catch (e) {
    return false;
  }
  if (status === 401 && /^\/api\/v1\/(me|login)(\?|$)/.test(p)) return true; // before signing in
  if (status === 422 && p.startsWith('/api/v1/cron/next?')) return true; // the bad schedule
  if (status === 403 && p === `/api/v1/jobs/${fx.jobs.report.id}/run`) return true; // the viewer's call
  // Department B's job opened by a user of A, and what its page asks for.
  for (const id of [fx.jobs.bNightly.id, fx.jobs.bBroken.id]) {
    const re = new RegExp(`^/api/v1/jobs/${id}(/|\\?|$)|[?&]job(_id)?=${id}(&|$)`);
    if ((status === 403 || status === 404) && re.test(p)) return true;
  }
  return false;
}

function watch(page, who) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const loc = msg.location() || {};
    const m = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(text);
    if (m && provoked(Number(m[1]), loc.url)) return;
    problems.push(`${who} at ${page.url()}: console error: ${text} (${loc.url || '?'}:${loc.lineNumber || 0})`);
  });
  page.on('pageerror', (err) => problems.push(`${who} at ${page.url()}: uncaught ${err.name}: ${err.message}`));
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`${who}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    if (f && !/ERR_ABORTED/.test(f.errorText)) problems.push(`${who}: ${r.url()} failed: ${f.errorText}`);
  });
}

// --- helpers over pages ----------------------------------------------------------------

let browser;

async function newPage(who) {
  const ctx = await browser.newContext({ viewport: WIDE, locale: 'en-GB', timezoneId: 'Europe/Paris' });
  ctx.setDefaultTimeout(WAIT);
  const page = await ctx.newPage();
  watch(page, who);
  onScreen = page;
  return page;
}

async function open(page, hash) {
  onScreen = page;
  await page.goto(`${BASE}/${hash}`);
}

const h1 = (page) => page.locator('main h1');

async function heading(page, title) {
  await page.getByRole('heading', { level: 1, name: title, exact: typeof title === 'string' }).waitFor();
}

// signIn PAGE LOGIN: through the form; done when the frame shows "Sign out".
async function signIn(page, login, password = fx.password) {
  await open(page, '#/login');
  await heading(page, 'Sign in to tablecron');
  await page.getByLabel('Login', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function signedIn(page) {
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// Choose the option of a <select> whose text matches RE (the text may say
// more than the name, e.g. "A (manager)"); the options may still be loading.
async function selectByText(select, re) {
  let seen = [];
  const hit = await eventually(async () => {
    seen = await select.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent.trim()]));
    return seen.find(([, text]) => re.test(text));
  }, `no option matching ${re}`).catch((e) => {
    throw new Error(`${e.message}; options: ${seen.map(([, t]) => t).join(', ')}`);
  });
  await select.selectOption(hit[0]);
}

// The element around a section's h2 (its section, or whatever holds it).
function section(page, title) {
  return page.getByRole('heading', { level: 2, name: title, exact: true }).locator('xpath=..');
}

async function mainText(page) {
  return page.locator('main').innerText();
}

// Wait until the page has drawn its data: no "Loading…" left in main.
async function settled(page) {
  await eventually(async () => (await page.locator('main').getByText('Loading…').count()) === 0,
    'the page is still "Loading…"');
}

async function absent(locator, what) {
  const n = await locator.count();
  assert(n === 0, `${what} is shown (${n} found)`);
}

// --- the scenarios ----------------------------------------------------------------------

const state = {}; // what one scenario leaves for the next

async function adminSignsIn() {
  const page = await newPage('admin');
  state.admin = page;
  await check('an unknown visitor is sent to the sign-in form', async () => {
    await open(page, '');
    await heading(page, 'Sign in to tablecron');
    assert(/#\/login$/.test(page.url()), `the address is ${page.url()}`);
  });
  await check('a wrong password is refused with an error in words', async () => {
    await page.getByLabel('Login', { exact: true }).fill(fx.users.admin);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: /\w{3,}/ });
    await alert.first().waitFor();
    const text = await alert.first().innerText();
    assert(/wrong|incorrect|invalid|password/i.test(text), `the error says "${text}"`);
    await absent(page.getByRole('button', { name: 'Sign out' }), 'a signed-in frame');
  });
  await check('the administrator signs in through the form and sees the dashboard', async () => {
    await page.getByLabel('Password', { exact: true }).fill(fx.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await signedIn(page);
    await heading(page, 'Dashboard');
  });
}

async function createJobInEditor() {
  const page = state.admin;
  const name = `browser-hello-${word}`;
  const bad = '*/5 * * 13 *';
  let position;
  await check('the job editor opens at #/jobs/new', async () => {
    await open(page, '#/jobs/new');
    await heading(page, 'New job');
  });
  await check('the editor takes a name, department A, kind shell and a command', async () => {
    await page.getByLabel('Name', { exact: true }).fill(name);
    await selectByText(page.getByLabel('Department', { exact: true }), /^A\b/);
    await page.getByLabel('Kind', { exact: true }).selectOption('shell');
    await page.getByLabel('Command', { exact: true }).fill(`echo ${name}`);
  });
  await check(`a bad schedule (${bad}) is shown at its position while typing`, async () => {
    const r = await page.context().request.get(`${BASE}/api/v1/cron/next?expr=${encodeURIComponent(bad)}`);
    assert(r.status() === 422, `the API answers ${r.status()} to the bad schedule`);
    position = (await r.json()).error.position;
    assert(Number.isInteger(position), 'the API gives no error.position');
    await page.getByLabel('Schedule', { exact: true }).fill(bad);
    const err = page.locator('#schedule-error');
    const text = await eventually(async () => {
      const t = (await err.isVisible()) ? await err.innerText() : '';
      return new RegExp(`position ${position}\\b`).test(t) && t;
    }, `#schedule-error does not say "position ${position}"`);
    assert(new RegExp(`\\bat ${position}\\b`).test(text), `no "at ${position}" in: ${text}`);
    assert((await err.getAttribute('role')) === 'alert', '#schedule-error has no role="alert"');
    const invalid = await page.getByLabel('Schedule', { exact: true }).getAttribute('aria-invalid');
    assert(invalid === 'true', `the Schedule input has aria-invalid=${invalid}`);
    // The caret line: "^" under the character at the position.
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes(bad));
    assert(i >= 0 && i + 1 < lines.length, `the expression is not shown on a line of its own: ${text}`);
    const caret = lines[i + 1].indexOf('^') - lines[i].indexOf(bad);
    assert(caret === position, `the caret is under character ${caret}, not ${position}: \n${lines[i]}\n${lines[i + 1]}`);
  });
  await check('a good schedule (*/2 * * * * *) previews the next 5 fire times', async () => {
    await page.getByLabel('Schedule', { exact: true }).fill('*/2 * * * * *');
    await eventually(async () => (await page.locator('#schedule-preview li').count()) === 5,
      '#schedule-preview does not list 5 times');
    await eventually(async () => !(await page.locator('#schedule-error').isVisible()),
      '#schedule-error is still shown');
    const invalid = await page.getByLabel('Schedule', { exact: true }).getAttribute('aria-invalid');
    assert(invalid !== 'true', 'the Schedule input is still aria-invalid');
  });
  await check('"Create job" creates it and opens its page', async () => {
    await page.getByRole('button', { name: 'Create job', exact: true }).click();
    await eventually(() => /#\/jobs\/\d+$/.test(page.url()), `the address stays ${page.url()}`);
    state.newJob = { id: Number(/#\/jobs\/(\d+)$/.exec(page.url())[1]), name };
    await heading(page, name);
    const row = sql(`SELECT d.name || '|' || j.kind || '|' || (j.config->>'command')
      FROM jobs j JOIN departments d ON d.id = j.department_id WHERE j.id = ${state.newJob.id}`);
    assert(row === `A|shell|echo ${name}`, `the database has: ${row}`);
  });
  await check('the job page lists its run as succeeded under "Recent executions"', async () => {
    assert(state.newJob, 'no job was created');
    await eventually(() => sql(`SELECT count(*) FROM executions WHERE job_id = ${state.newJob.id}
      AND status = 'succeeded'`) !== '0', 'the job never succeeded in the database', RUN_WAIT);
    // The page refreshes itself only while the job runs: look again.
    await page.reload();
    await heading(page, name);
    const row = section(page, 'Recent executions').locator('tr')
      .filter({ has: page.locator('.badge', { hasText: /^succeeded$/ }) }).first();
    await row.waitFor();
    const link = row.getByRole('link', { name: /^#\d+$/ });
    state.newExec = Number((await link.innerText()).slice(1));
    await link.click();
    await heading(page, `Execution #${state.newExec}`);
  });
  await check('the execution page shows the output of the run', async () => {
    assert(state.newExec, 'no execution was opened');
    await eventually(async () => (await page.locator('pre#output').innerText()).includes(name),
      `#output does not show "${name}"`);
    await page.locator('main .badge', { hasText: /^succeeded$/ }).first().waitFor();
  });
}

async function operatorKills() {
  const page = await newPage('operator');
  const job = fx.jobs.long;
  await check('the operator of A signs in', async () => {
    await signIn(page, fx.users.operator);
    await signedIn(page);
  });
  await check('the operator sees "Run now" but neither "Edit" nor "Delete"', async () => {
    await open(page, `#/jobs/${job.id}`);
    await heading(page, job.name);
    await page.getByRole('button', { name: 'Run now', exact: true }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Next fire times' }).waitFor();
    await absent(page.getByRole('link', { name: 'Edit', exact: true }), 'the "Edit" link');
    await absent(page.getByRole('button', { name: 'Delete', exact: true }), 'the "Delete" button');
  });
  await check('"Run now" starts the job and the page offers "Kill"', async () => {
    await page.getByRole('button', { name: 'Run now', exact: true }).click();
    await page.getByRole('button', { name: 'Kill', exact: true }).waitFor({ timeout: RUN_WAIT });
    const n = sql(`SELECT count(*) FROM executions WHERE job_id = ${job.id} AND status = 'running'`);
    assert(n === '1', `${n} running executions in the database`);
  });
  await check('"Kill", confirmed in the dialog, ends the run as killed', async () => {
    await page.getByRole('button', { name: 'Kill', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Kill', exact: true }).click();
    await section(page, 'Recent executions').locator('.badge', { hasText: /^killed$/ }).first()
      .waitFor({ timeout: RUN_WAIT });
    await eventually(async () => (await page.getByRole('button', { name: 'Kill', exact: true }).count()) === 0,
      'the "Kill" button is still offered');
  });
  await check('the database has the run as killed', async () => {
    await eventually(() => sql(`SELECT string_agg(status, ',') FROM executions WHERE job_id = ${job.id}`) === 'killed',
      `executions of ${job.name}: ${sql(`SELECT string_agg(status, ',') FROM executions WHERE job_id = ${job.id}`)}`);
  });
  await page.context().close();
}

async function viewerCannotAct() {
  const page = await newPage('viewer');
  const job = fx.jobs.report;
  await check('the viewer of A signs in', async () => {
    await signIn(page, fx.users.viewer);
    await signedIn(page);
  });
  await check('the viewer\'s job page offers no "Run now", "Edit", "Delete", "Pause" or "Kill"', async () => {
    await open(page, `#/jobs/${job.id}`);
    await heading(page, job.name);
    await page.getByRole('heading', { level: 2, name: 'Next fire times' }).waitFor();
    await settled(page);
    for (const name of ['Run now', 'Pause', 'Resume', 'Kill', 'Delete', 'Edit']) {
      await absent(page.getByRole('button', { name, exact: true }), `the "${name}" button`);
      await absent(page.getByRole('link', { name, exact: true }), `the "${name}" link`);
    }
  });
  await check('the viewer\'s jobs list has no "New job"', async () => {
    await open(page, '#/jobs');
    await heading(page, 'Jobs');
    await page.getByRole('link', { name: job.name, exact: true }).waitFor();
    await absent(page.getByRole('link', { name: 'New job' }), 'the "New job" link');
    await absent(page.getByRole('button', { name: 'New job' }), 'the "New job" button');
  });
  await check('the viewer\'s session cannot run the job through the API (403, nothing run)', async () => {
    const before = sql(`SELECT next_time || '|' || version FROM jobs WHERE id = ${job.id}`);
    const status = await page.evaluate(async (id) => {
      const me = await (await fetch('/api/v1/me', { credentials: 'same-origin' })).json();
      const r = await fetch(`/api/v1/jobs/${id}/run`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: '{}',
      });
      return r.status;
    }, job.id);
    assert(status === 403, `POST /jobs/${job.id}/run answered ${status}`);
    const after = sql(`SELECT next_time || '|' || version FROM jobs WHERE id = ${job.id}`);
    assert(after === before, `the job changed: ${before} -> ${after}`);
    const runs = sql(`SELECT count(*) FROM executions WHERE job_id = ${job.id}`);
    const audits = sql(`SELECT count(*) FROM audit_log WHERE action = 'job.run' AND object_id = '${job.id}'`);
    assert(runs === '0' && audits === '0', `${runs} executions, ${audits} job.run audit rows`);
  });
  await page.context().close();
}

// A user of department A (its manager) never sees department B's jobs.
async function departmentsApart() {
  const page = await newPage('manager of A');
  const b = [fx.jobs.bNightly, fx.jobs.bBroken];
  const noB = async (where) => {
    const text = await mainText(page);
    assert(!/bsecret/.test(text), `${where} shows department B's jobs: ${text.slice(0, 300)}`);
    for (const j of b) {
      await absent(page.locator(`main a[href$="#/jobs/${j.id}"]`), `${where}: a link to ${j.name}`);
    }
  };
  await check('the manager of A signs in', async () => {
    await signIn(page, fx.users.manager);
    await signedIn(page);
  });
  await check('the jobs list of A\'s manager has A\'s jobs and none of B\'s', async () => {
    await open(page, '#/jobs');
    await heading(page, 'Jobs');
    await page.getByRole('link', { name: fx.jobs.report.name, exact: true }).waitFor();
    await page.getByRole('link', { name: 'New job' }).waitFor(); // a manager may create jobs
    await settled(page);
    await noB('the jobs list');
  });
  // "nightly" names a job of each department: the result must have A's
  // and not B's; "bsecret" names only B's, and finds nothing.
  const search = page.getByLabel('Search', { exact: true });
  const jobLink = (j) => page.getByRole('link', { name: j.name, exact: true });
  await check('searching the jobs for a word of both departments\' job names finds only A\'s', async () => {
    await search.fill('nightly');
    await search.press('Enter');
    await eventually(async () => (await jobLink(fx.jobs.long).count()) === 0,
      'the search did not apply (a-long is still listed)');
    await jobLink(fx.jobs.report).waitFor();
    await settled(page);
    await noB('the search result');
    assert(/[?&]q=nightly/.test(new URL(page.url()).hash), `the search is not in the address: ${page.url()}`);
  });
  await check('searching the jobs for B\'s job name finds nothing', async () => {
    await search.fill('bsecret');
    await search.press('Enter');
    await eventually(async () => (await jobLink(fx.jobs.report).count()) === 0,
      'the search did not apply (A\'s job is still listed)');
    await eventually(() => /[?&]q=bsecret/.test(new URL(page.url()).hash), `the search is not in the address: ${page.url()}`);
    await settled(page);
    await noB('the search result');
  });
  await check('B\'s job page shows an error to A\'s manager, not the job', async () => {
    await open(page, `#/jobs/${fx.jobs.bNightly.id}`);
    // An error box, or a page titled with the error.
    const err = page.locator('main [role="alert"], main .error')
      .or(page.getByRole('heading', { level: 1, name: /not found|not allowed|forbidden/i }))
      .filter({ hasText: /\w{3,}/ });
    await err.first().waitFor();
    await settled(page);
    await noB('B\'s job page');
    await absent(page.getByRole('heading', { level: 1, name: fx.jobs.bNightly.name }), 'the job\'s heading');
  });
  await check('the executions list of A\'s manager shows none of B\'s', async () => {
    await open(page, '#/executions');
    await heading(page, 'Executions');
    await page.locator('main').getByRole('link', { name: /^#\d+$/ }).first().waitFor();
    await settled(page);
    const shown = await page.locator('main').getByRole('link', { name: /^#\d+$/ }).allInnerTexts();
    const bIds = new Set(sql(`SELECT e.id FROM executions e JOIN jobs j ON j.id = e.job_id
      JOIN departments d ON d.id = j.department_id WHERE d.name = 'B'`).split('\n'));
    const leaked = shown.filter((t) => bIds.has(t.slice(1)));
    assert(leaked.length === 0, `B's executions listed: ${leaked.join(' ')}`);
    await noB('the executions list');
  });
  await check('the dashboard of A\'s manager lists A\'s failing job and none of B\'s', async () => {
    await open(page, '#/');
    await heading(page, 'Dashboard');
    const failing = section(page, 'Failing jobs');
    await failing.getByRole('link', { name: fx.jobs.flaky.name }).first().waitFor();
    await settled(page);
    await noB('the dashboard');
  });
  await page.context().close();

  const pageB = await newPage('manager of B');
  await check('and the manager of B sees B\'s jobs but none of A\'s', async () => {
    await signIn(pageB, fx.users.managerB);
    await signedIn(pageB);
    await open(pageB, '#/jobs');
    await heading(pageB, 'Jobs');
    await pageB.getByRole('link', { name: fx.jobs.bNightly.name, exact: true }).waitFor();
    await settled(pageB);
    const text = await mainText(pageB);
    for (const j of [fx.jobs.report, fx.jobs.long, fx.jobs.flaky]) {
      assert(!text.includes(j.name), `B's manager sees ${j.name}`);
    }
  });
  await pageB.context().close();
}

// Every page at both sizes, as the administrator (and the sign-in form as
// nobody); each must show its one h1.
async function screenshots() {
  const shoot = async (page, name) => {
    for (const size of [WIDE, PHONE]) {
      await page.setViewportSize(size);
      await page.screenshot({ path: path.join(fx.screens, `${name}-${size.width}x${size.height}.png`), fullPage: true });
    }
    await page.setViewportSize(WIDE);
  };
  const pages = [
    ['dashboard', '#/', 'Dashboard'],
    ['jobs', '#/jobs', 'Jobs'],
    ['job-detail', `#/jobs/${fx.jobs.long.id}`, fx.jobs.long.name],
    ['job-edit', `#/jobs/${fx.jobs.report.id}/edit`, `Edit ${fx.jobs.report.name}`],
    ['executions', '#/executions', 'Executions'],
    ['execution-detail', `#/executions/${state.newExec || 1}`, `Execution #${state.newExec || 1}`],
    ['instances', '#/instances', 'Instances'],
    ['departments', '#/departments', 'Departments'],
    ['users', '#/users', 'Users'],
    ['audit', '#/audit', 'Audit log'],
  ];
  const page = state.admin;
  for (const [name, hash, title] of pages) {
    await check(`the ${name} page (${hash}) shows its title "${title}" (screenshots ${name}-*.png)`, async () => {
      await open(page, hash);
      await heading(page, title);
      await settled(page);
      const n = await h1(page).count();
      assert(n === 1, `${n} h1 elements`);
      await shoot(page, name);
    });
  }
  await check('the job editor with a bad schedule (screenshots job-new-error-*.png)', async () => {
    await open(page, '#/jobs/new');
    await heading(page, 'New job');
    await page.getByLabel('Schedule', { exact: true }).fill('*/5 * * 13 *');
    await page.locator('#schedule-error').filter({ hasText: /position/ }).waitFor();
    await shoot(page, 'job-new-error');
  });
  const anon = await newPage('visitor');
  await check('the sign-in page (screenshots login-*.png)', async () => {
    await open(anon, '#/login');
    await heading(anon, 'Sign in to tablecron');
    await shoot(anon, 'login');
  });
  await anon.context().close();
}

// --- the run -------------------------------------------------------------------------------

let crashed = null;
try {
  browser = await chromium.launch({
    executablePath: fx.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'], // containers often have a tiny /dev/shm
  });
  await adminSignsIn();
  await createJobInEditor();
  await operatorKills();
  await viewerCannotAct();
  await departmentsApart();
  await screenshots();
  report(problems.length === 0,
    'no console errors, CSP violations, uncaught exceptions or 5xx answers in the whole run',
    problems.slice(0, 25).join('\n'));
} catch (e) {
  crashed = e;
  report(false, 'the browser run did not crash', e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log('# done');
process.exit(tapFailed || crashed ? 1 : 0);
