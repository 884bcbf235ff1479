// workflows.test.mjs - the workflow page and the editor's "Runs after" in
// headless chromium, driven by playwright-core; run by
// tests/integration/workflows.sh once its chain has run (wf-a -> wf-b ->
// wf-c, and wf-d after wf-b and wf-c, all in department A; onok runs
// after flaky).
//
// Environment: TC_URL (the instance), TC_CHROMIUM, TC_PASSWORD (of
// a_manager and a_viewer), TC_WF_JOBS (the ids of wf-a, wf-b, wf-c, wf-d
// and onok), TC_SCREENS (a directory for screenshots, may be empty).
// Prints one TAP line per check without a plan, and "# done" when it ran
// to its end; waits are Playwright's own, never fixed sleeps.

import { createRequire } from 'node:module';
import { assert, check, failures, launch, report, shoot as shootInto, signIn as signInAs } from './signin.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const BASE = process.env.TC_URL;
const [A, B, C, D, OK] = (process.env.TC_WF_JOBS || '').split(' ').map(Number);
const WAIT = 15000;
const SCREENS = process.env.TC_SCREENS || '';
const problems = [];

function signIn(browser, login) {
  return signInAs(browser, {
    base: BASE, login, password: process.env.TC_PASSWORD, wait: WAIT, problems,
    provoked: (text, url) => /status of 409/.test(text) && /\/dependencies$/.test(url),
  });
}

const shoot = (page, name) => shootInto(page, SCREENS, name);

// The nodes drawn: [{job, status}] by the data attributes of the SVG.
async function nodes(page) {
  return page.locator('svg.wf-svg g.wf-node').evaluateAll((els) =>
    els.map((el) => ({ job: Number(el.dataset.job), status: el.dataset.status })));
}

let browser;
try {
  browser = await launch(chromium);
  const mgr = await signIn(browser, 'a_manager');
  await check('page: the job page links to its workflow', async () => {
    await mgr.goto(`${BASE}/#/jobs/${B}`);
    await mgr.getByRole('heading', { level: 1, name: 'wf-b', exact: true }).waitFor();
    await mgr.getByRole('link', { name: 'Workflow', exact: true }).click();
    await mgr.getByRole('heading', { level: 1, name: 'Workflow of wf-b', exact: true }).waitFor();
  });
  await check('page: the graph draws the four jobs with their last status, and the four edges', async () => {
    await mgr.locator('svg.wf-svg g.wf-node').nth(3).waitFor();
    const got = await nodes(mgr);
    const ids = got.map((x) => x.job).sort((a, b) => a - b);
    assert(JSON.stringify(ids) === JSON.stringify([A, B, C, D].sort((a, b) => a - b)), `nodes: ${JSON.stringify(got)}`);
    assert(got.every((x) => x.status === 'succeeded'), `statuses: ${JSON.stringify(got)}`);
    const edges = await mgr.locator('svg.wf-svg g.wf-edge').count();
    assert(edges === 4, `${edges} edges`);
  });
  await check('page: upstream jobs are left of their downstream jobs', async () => {
    const x = async (id) => Number(await mgr.locator(`g.wf-node[data-job="${id}"] rect`).getAttribute('x'));
    const [xa, xb, xc, xd] = [await x(A), await x(B), await x(C), await x(D)];
    assert(xa < xb && xb < xc && xc < xd, `x: a ${xa}, b ${xb}, c ${xc}, d ${xd}`);
  });
  await check('page: the table lists each job with what it runs after', async () => {
    const row = mgr.getByRole('row').filter({ hasText: 'wf-d' }).first();
    const text = await row.innerText();
    assert(/wf-b \(on success\)/.test(text) && /wf-c \(on success\)/.test(text) && /succeeded/.test(text),
      `the row reads: ${text}`);
  });
  await shoot(mgr, 'workflow-graph');
  await check('page: a node leads to that job\'s workflow', async () => {
    await mgr.locator(`a:has(g.wf-node[data-job="${D}"])`).click();
    await mgr.getByRole('heading', { level: 1, name: 'Workflow of wf-d', exact: true }).waitFor();
  });
  await check('page: the editor shows what a job runs after, and adds a dependency', async () => {
    await mgr.goto(`${BASE}/#/jobs/${OK}/edit`);
    const deps = mgr.getByRole('group', { name: 'Runs after' });
    await deps.getByLabel('Upstream job 1', { exact: true }).waitFor();
    assert(await deps.getByLabel('Upstream job 1', { exact: true }).inputValue() === 'flaky', 'flaky is not listed');
    await deps.getByRole('button', { name: 'Add an upstream job' }).click();
    await deps.getByLabel('Upstream job 2', { exact: true }).fill('wf-a');
    await deps.getByLabel('Condition 2', { exact: true }).selectOption('always');
    await mgr.getByRole('button', { name: 'Save changes' }).click();
    await mgr.getByRole('heading', { level: 1, name: 'onok', exact: true }).waitFor();
  });
  await check('page: the editor refuses a cycle in words', async () => {
    await mgr.goto(`${BASE}/#/jobs/${A}/edit`);
    const deps = mgr.getByRole('group', { name: 'Runs after' });
    await deps.getByRole('button', { name: 'Add an upstream job' }).click();
    await deps.getByLabel('Upstream job 1', { exact: true }).fill('wf-d');
    await mgr.getByRole('button', { name: 'Save changes' }).click();
    await mgr.locator('#form-error').filter({ hasText: 'dependency would make a cycle: wf-d -> wf-a' }).waitFor();
  });
  await shoot(mgr, 'workflow-editor');
  const viewer = await signIn(browser, 'a_viewer');
  await check('page: a viewer sees the workflow, without the editor', async () => {
    await viewer.goto(`${BASE}/#/jobs/${D}`);
    await viewer.getByRole('heading', { level: 1, name: 'wf-d', exact: true }).waitFor();
    assert(await viewer.getByRole('link', { name: 'Edit', exact: true }).count() === 0, 'an Edit link');
    await viewer.getByRole('link', { name: 'Workflow', exact: true }).click();
    await viewer.locator('svg.wf-svg g.wf-node').nth(3).waitFor();
  });
  report(problems.length === 0, 'page: no console errors or uncaught exceptions', problems.join('\n'));
} catch (e) {
  report(false, 'page: the browser run did not crash', e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log('# done');
process.exit(failures() ? 1 : 0);
