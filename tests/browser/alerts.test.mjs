// alerts.test.mjs - the alerts page in headless chromium, driven by
// playwright-core; run by tests/integration/alerts.sh once its alerts,
// rules and channels exist (department A: jobs flap and tout, channels
// json and slack among others).
//
// Environment: TC_URL (the instance), TC_CHROMIUM, TC_PASSWORD (of
// a_manager and a_viewer), TC_SCREENS (a directory for screenshots, may
// be empty).  Prints one TAP line per check without a plan, and "# done"
// when it ran to its end; waits are Playwright's own or polls with a
// deadline, never fixed sleeps.

import { createRequire } from 'node:module';
import { assert, check, failures, launch, report, shoot as shootInto, signIn as signInAs } from './signin.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const BASE = process.env.TC_URL;
const WAIT = 15000;
const SCREENS = process.env.TC_SCREENS || '';
const problems = [];

function signIn(browser, login) {
  return signInAs(browser, {
    base: BASE, login, password: process.env.TC_PASSWORD, wait: WAIT, problems,
    provoked: (text, url) => /status of 400/.test(text) && /\/api\/v1\/alert-channels$/.test(url),
  });
}

const section = (page, title) => page.getByRole('heading', { level: 2, name: title, exact: true }).locator('xpath=..');

const shoot = (page, name) => shootInto(page, SCREENS, name);

let browser;
try {
  browser = await launch(chromium);
  const mgr = await signIn(browser, 'a_manager');
  await check('page: the menu leads to the alerts page', async () => {
    await mgr.getByRole('link', { name: 'Alerts', exact: true }).click();
    await mgr.getByRole('heading', { level: 1, name: 'Alerts', exact: true }).waitFor();
  });
  await check('page: the recent alerts show the recovery of flap, sent', async () => {
    const rows = section(mgr, 'Recent alerts').locator('tbody tr').filter({ hasText: 'flap' })
      .filter({ hasText: 'recovered' });
    await rows.first().waitFor();
    const text = await rows.first().innerText();
    assert(/sent/.test(text), `the row says: ${text}`);
  });
  await check('page: a manager sees the rules of flap and the webhook URLs whole', async () => {
    const rules = await section(mgr, 'Rules').innerText();
    assert(/job flap/.test(rules), `rules: ${rules.slice(0, 300)}`);
    const channels = await section(mgr, 'Channels').innerText();
    assert(/\/echo\?ch=slack/.test(channels), `channels: ${channels.slice(0, 300)}`);
  });
  await check('page: a manager makes an email channel through the form', async () => {
    const form = mgr.getByRole('form', { name: 'New channel' });
    await form.getByLabel('Name', { exact: true }).fill('page-mail');
    await form.getByLabel('Kind', { exact: true }).selectOption('email');
    await form.getByLabel('To', { exact: true }).fill('pages@example.com');
    await form.getByRole('button', { name: 'Create channel' }).click();
    await section(mgr, 'Channels').getByText('pages@example.com').waitFor();
  });
  await check('page: a bad address is refused in words', async () => {
    const form = mgr.getByRole('form', { name: 'New channel' });
    await form.getByLabel('Name', { exact: true }).fill('page-bad');
    await form.getByLabel('Kind', { exact: true }).selectOption('email');
    await form.getByLabel('To', { exact: true }).fill('not an address');
    await form.getByRole('button', { name: 'Create channel' }).click();
    const alert = form.getByRole('alert');
    await alert.filter({ hasText: /email/ }).waitFor();
  });
  await check('page: a manager makes a rule for job tout through the form', async () => {
    const form = mgr.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Job', { exact: true }).selectOption({ label: 'tout' });
    await form.getByLabel('Channel', { exact: true }).selectOption({ label: 'page-mail (email)' });
    await form.getByRole('button', { name: 'Create rule' }).click();
    const rows = section(mgr, 'Rules').locator('tbody tr').filter({ hasText: 'page-mail' });
    await rows.first().waitFor();
    const text = await rows.first().innerText();
    assert(/tout/.test(text) && /failed, timed out/.test(text), `the rule reads: ${text}`);
  });
  await shoot(mgr, 'alerts-manager');
  const viewer = await signIn(browser, 'a_viewer');
  await check('page: a viewer reads the alerts but gets no forms, and URLs masked', async () => {
    await viewer.goto(`${BASE}/#/alerts`);
    await viewer.getByRole('heading', { level: 1, name: 'Alerts', exact: true }).waitFor();
    await section(viewer, 'Channels').getByText('page-mail').waitFor();
    assert(await viewer.getByRole('form', { name: 'New rule' }).count() === 0, 'a New rule form');
    assert(await viewer.getByRole('form', { name: 'New channel' }).count() === 0, 'a New channel form');
    const channels = await section(viewer, 'Channels').innerText();
    assert(!/ch=slack/.test(channels) && /127\.0\.0\.1:\d+\/\.\.\./.test(channels), `channels: ${channels.slice(0, 300)}`);
  });
  await shoot(viewer, 'alerts-viewer');
  report(problems.length === 0, 'page: no console errors or uncaught exceptions', problems.join('\n'));
} catch (e) {
  report(false, 'page: the browser run did not crash', e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log('# done');
process.exit(failures() ? 1 : 0);
