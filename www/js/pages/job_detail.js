// job_detail.js - one job (#/jobs/ID): its state, definition, task
// parameters, next fire times and recent executions, with the actions the
// caller's role allows (operator: Run now, Pause/Resume, Kill; manager:
// Edit, Delete).  It refreshes every 2 s while the job runs or an action is
// pending, else every 10 s.

import { get, post, del, ApiError } from '../api.js';
import { session } from '../session.js';
import {
  h, fill, timeEl, fmtTime, fmtTimeIn, relTime, fmtDuration, badge, act, confirmDialog,
  pageHeader, table, showError,
} from '../ui.js';
import { scheduleCell } from './jobs.js';

const FAST_MS = 2000;
const SLOW_MS = 10000;

export async function render(ctx) {
  const id = ctx.params[0];
  const head = h('div');
  const body = h('div', { class: 'job-detail' });
  const runs = h('div');
  ctx.main.append(head, body,
    h('section', { 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, 'Recent executions'), runs));

  let job = null;
  let last = 0; // when the page was last refreshed
  let busy = false;

  async function refresh() {
    if (busy) return;
    busy = true;
    last = Date.now();
    try {
      const [j, ex] = await Promise.all([
        get('/jobs/' + id),
        get('/executions', { job: id, limit: 10 }).catch((e) => e),
      ]);
      if (ctx.stale()) return;
      job = j;
      drawHead(job);
      fill(body, h('div', { class: 'cards' }, stateCard(job), nextTimesSection(job)),
        job.shards > 1 ? shardFireTimesSection(job) : null,
        h('div', { class: 'cards' }, definitionCard(job), configCard(job)));
      if (ex instanceof Error) showError(runs, ex);
      else fill(runs, executionsTable(ex.items, job.timezone, job.shards > 1));
    } catch (e) {
      if (ctx.stale()) return;
      if (e instanceof ApiError && e.status === 404) {
        job = null;
        fill(head, pageHeader('Job not found'));
        fill(body, h('p', {}, 'There is no job #' + id + ' (or it is not in your departments). ',
          h('a', { href: '#/jobs' }, 'Back to the jobs.')));
        fill(runs);
      } else {
        showError(body, e);
      }
    } finally {
      busy = false;
    }
  }

  // An action's answer says what happened (JobActionResult.message).
  async function action(button, path) {
    const res = await act(button, () => post('/jobs/' + id + '/' + path), (r) => r.message);
    if (res) await refresh();
  }

  function drawHead(j) {
    const dept = j.department.id;
    const buttons = [];
    if (session.canOperate(dept)) {
      const run = h('button', { type: 'button', class: 'primary' }, 'Run now');
      run.addEventListener('click', () => action(run, 'run'));
      buttons.push(run);
      // A pause asked for while running can be taken back with Resume.
      const resume = j.paused || j.pause_requested;
      const pr = h('button', { type: 'button' }, resume ? 'Resume' : 'Pause');
      pr.addEventListener('click', () => action(pr, resume ? 'resume' : 'pause'));
      buttons.push(pr);
      if (j.running || shardsRunning(j)) {
        const kill = h('button', { type: 'button', class: 'danger', disabled: !!j.kill_requested_at },
          'Kill');
        kill.addEventListener('click', async () => {
          if (await confirmDialog('Kill the running task of ' + j.name + '?', 'Kill')) action(kill, 'kill');
        });
        buttons.push(kill);
      }
    }
    // The jobs it runs after and before (workflow.js).
    buttons.push(h('a', { class: 'button', href: '#/jobs/' + j.id + '/workflow' }, 'Workflow'));
    if (session.canManage(dept)) {
      buttons.push(h('a', { class: 'button', href: '#/jobs/' + j.id + '/edit' }, 'Edit'));
      const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
      remove.addEventListener('click', () => deleteJob(remove, j));
      buttons.push(remove);
    }
    // Keep the focus on a button that survives the redraw (keyboard users).
    const focused = document.activeElement && head.contains(document.activeElement)
      ? document.activeElement.textContent : null;
    fill(head, pageHeader(j.name, ...buttons),
      h('p', { class: 'muted' }, h('a', { href: '#/jobs' }, '← Jobs')));
    if (focused) {
      const again = [...head.querySelectorAll('button, a')].find((b) => b.textContent === focused);
      if (again) again.focus();
    }
  }

  async function deleteJob(button, j) {
    if (!(await confirmDialog('Delete the job ' + j.name + ' and all its executions? This cannot be undone.', 'Delete'))) return;
    // A running job is refused (409, field "force"); the page offers no
    // forced deletion, so the API's hint about ?force=true becomes words.
    const done = await act(button, () => del('/jobs/' + j.id).then(() => true).catch((e) => {
      if (e instanceof ApiError && e.status === 409 && e.field === 'force') {
        throw new ApiError(409, e.code, 'Not deleted: ' + j.name + ' is running. Kill it first (or wait for the run to end), then delete it.');
      }
      throw e;
    }), 'Job ' + j.name + ' deleted');
    if (done) ctx.navigate('#/jobs');
  }

  await refresh();
  // Fast while something is moving, slow otherwise.
  ctx.every(FAST_MS, () => {
    const moving = job && (job.running || job.kill_requested_at || job.pause_requested ||
      (job.shard_fire_times || []).some((f) => f.status === 'running'));
    if (moving || Date.now() - last >= SLOW_MS - 100) refresh();
  });
}

// --- the parts ---

function props(rows) {
  return h('dl', { class: 'props' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function stateCard(j) {
  const status = badge(j.running ? 'running' : (j.paused ? 'paused' : j.status));
  const last = j.last_execution;
  return h('section', { class: 'card', 'aria-labelledby': 'state-h' }, h('h2', { id: 'state-h', class: 'card-title' }, 'State'), props([
    ['Status', h('span', {}, status,
      j.kill_requested_at ? h('span', { class: 'muted' }, ' kill requested ', timeEl(j.kill_requested_at, j.timezone)) : null,
      j.pause_requested ? h('span', { class: 'muted' }, ' pauses when this run ends') : null,
      j.awaiting_callback ? h('span', { class: 'muted' }, ' waiting for the task to report (202 Accepted)') : null)],
    j.running ? ['Running on', j.lease_owner || h('span', { class: 'muted' }, 'no instance (reports by callback)')] : null,
    j.running && j.lease_until ? ['Lease until', timeEl(j.lease_until, j.timezone)] : null,
    [j.running ? 'This run is for' : 'Next run', nextRun(j)],
    j.attempt > 1 ? ['Attempt', j.attempt + ' (retry of ' + fmtTime(j.scheduled_for) + ')'] : null,
    ['Last result', last ? h('span', {}, h('a', { href: '#/executions/' + last.id }, '#' + last.id), ' ',
      badge(last.status), ' ', timeEl(last.finished_at || last.started_at, j.timezone)) : h('span', { class: 'muted' }, 'never run')],
    j.schedule_error ? ['Schedule problem', h('span', { class: 'error' }, j.schedule_error)] : null,
  ]));
}

function nextRun(j) {
  if (j.status === 'done') return h('span', { class: 'muted' }, 'done (a one-off job that has run)');
  if (j.paused) return h('span', { class: 'muted' }, 'none while paused');
  if (!j.next_time) return h('span', { class: 'muted' }, 'not scheduled yet');
  return h('span', {}, timeEl(j.next_time, j.timezone), h('span', { class: 'muted' }, ' ' + relTime(j.next_time)));
}

function definitionCard(j) {
  return h('section', { class: 'card', 'aria-labelledby': 'def-h' }, h('h2', { id: 'def-h', class: 'card-title' }, 'Definition'), props([
    ['Department', j.department.name],
    ['Description', j.description ? h('span', { class: 'pre-line' }, j.description) : h('span', { class: 'muted' }, 'none')],
    ['Kind', j.kind],
    ['Schedule', scheduleCell(j)],
    ['Time zone', j.timezone],
    ['Timeout', plural(j.timeout_s, 'second')],
    ['Retries', j.max_retries === 0 ? 'none' : String(j.max_retries)],
    ['Retry backoff', plural(j.retry_backoff_s, 'second')],
    ['Misfire policy', j.misfire_policy === 'once' ? 'once (one catch-up run after an outage)' : 'skip (missed times are dropped)'],
    ['Shards', j.shards > 1 ? j.shards + ' executions per fire time (TABLECRON_SHARD_INDEX 0–' + (j.shards - 1) + ')' : '1 (not sharded)'],
    ['Created', timeEl(j.created_at, j.timezone)],
    ['Changed', timeEl(j.updated_at, j.timezone)],
  ]));
}

function plural(n, unit) { return n + ' ' + unit + (n === 1 ? '' : 's'); }

// The task parameters, kind by kind, in words; keys this page does not know
// are shown as JSON so nothing is hidden.
function configCard(j) {
  const c = j.config || {};
  const shown = new Set();
  const row = (key, label, fmt) => {
    shown.add(key);
    if (c[key] === undefined || c[key] === null) return null;
    return [label, fmt ? fmt(c[key]) : String(c[key])];
  };
  const code = (v) => h('code', {}, String(v));
  const block = (v) => h('pre', { class: 'config-value' }, v);
  const pairs = (sep) => (o) => block(Object.entries(o).map(([k, v]) => k + sep + v).join('\n'));
  const yesNo = (v) => (v ? 'yes' : 'no');
  let rows;
  if (j.kind === 'shell') {
    rows = [
      row('command', 'Command', block),
      row('env', 'Environment', pairs('=')),
      row('cwd', 'Working directory', code),
    ];
  } else if (j.kind === 'http') {
    // Shown even when left to their defaults, so they are spelled out.
    ['method', 'url', 'expect_status', 'tls_verify'].forEach((k) => shown.add(k));
    rows = [
      ['Request', h('span', {}, h('code', {}, c.method || 'GET'), ' ', h('code', {}, c.url || ''))],
      row('headers', 'Headers', pairs(': ')),
      row('body', 'Body', block),
      row('json', 'JSON body', (v) => block(JSON.stringify(v, null, 2))),
      ['Expected status', expectWords(c.expect_status)],
      row('follow_redirects', 'Follow redirects', yesNo),
      ['Verify TLS certificates', tlsWords(c.tls_verify)],
      row('ca_file', 'CA file', code),
    ];
  } else if (j.kind === 'grpc') {
    shown.add('tls_verify');
    rows = [
      row('url', 'URL', code),
      row('method', 'Method', code),
      row('metadata', 'Metadata', pairs(': ')),
      row('message_base64', 'Message (base64)', (v) => (v ? block(v) : h('span', { class: 'muted' }, 'empty message'))),
      ['Verify TLS certificates', tlsWords(c.tls_verify)],
      row('ca_file', 'CA file', code),
    ];
  } else if (j.kind === 'noop') {
    rows = [['Task', 'nothing: each run succeeds at once, with no output']];
  } else {
    rows = [];
  }
  rows.push(row('output_limit', 'Output kept', (v) => v + ' bytes'));
  for (const [k, v] of Object.entries(c)) {
    if (!shown.has(k)) rows.push([k, block(JSON.stringify(v, null, 2))]);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'cfg-h' },
    h('h2', { id: 'cfg-h', class: 'card-title' }, { shell: 'Shell command', http: 'HTTP request', grpc: 'gRPC call', noop: 'Nothing (noop)' }[j.kind] || 'Task'),
    props(rows));
}

function tlsWords(v) {
  return v === false ? 'no (insecure: any certificate is accepted)' : 'yes';
}

function expectWords(v) {
  if (v === undefined || v === null) return '2xx (any success)';
  if (Array.isArray(v)) return v.join(', ');
  return String(v);
}

// The next 5 fire times, as the daemon will use them (JobDetail.next_fire_times
// is anchored on the job's own grid, which matters for @every), in the job's
// zone; the browser's time on hover.
function nextTimesSection(j) {
  let content;
  if (j.next_fire_times_error) {
    content = h('p', { class: 'error' }, j.next_fire_times_error);
  } else if (!j.next_fire_times || !j.next_fire_times.length) {
    content = h('p', { class: 'muted' }, j.status === 'done' ? 'None: the job has run.' : 'None.');
  } else {
    content = h('ol', { class: 'fire-times' }, j.next_fire_times.map((t) =>
      h('li', {}, h('time', { datetime: t, title: 'Your time: ' + fmtTime(t) }, fmtTimeIn(t, j.timezone)))));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'next-h' },
    h('h2', { id: 'next-h', class: 'card-title' }, 'Next fire times'),
    j.paused ? h('p', { class: 'muted' }, 'The job is paused: these times apply once it is resumed.') : null,
    content);
}

// Is a shard of the job running (its own row may not be: shard 0 ends first)?
function shardsRunning(j) {
  return (j.shard_fire_times || []).some((f) => f.running > 0);
}

// A sharded job's latest fire times: one line each, succeeded only when
// every shard's latest attempt did (JobDetail.shard_fire_times).
function shardFireTimesSection(j) {
  const count = (n, what) => (n ? h('span', { class: 'muted' }, ' ' + n + ' ' + what) : null);
  return h('section', { class: 'card', 'aria-labelledby': 'shards-h' },
    h('h2', { id: 'shards-h', class: 'card-title' }, 'Fire times of the ' + j.shards + ' shards'),
    table([
      { title: 'Fire time', cell: (f) => timeEl(f.scheduled_for, j.timezone) },
      { title: 'Status', cell: (f) => badge(f.status) },
      { title: 'Succeeded', class: 'num', cell: (f) => f.succeeded + ' of ' + f.shards },
      { title: 'Other shards', cell: (f) => h('span', {}, count(f.failed, 'failed'), count(f.running, 'running'),
        count(f.pending, 'waiting to start'), count(f.retrying, 'to retry'), count(f.missed, 'missed (misfire)')) },
      { title: 'Executions', class: 'num', cell: (f) => f.attempts },
      { title: 'Started', cell: (f) => timeEl(f.started_at, j.timezone) },
      { title: 'Finished', cell: (f) => (f.finished_at ? timeEl(f.finished_at, j.timezone) : '—') },
    ], j.shard_fire_times || [], 'No fire time has run yet.'));
}

function executionsTable(items, zone, sharded) {
  const shard = sharded || items.some((e) => e.shard_index > 0);
  return table([
    { title: 'Execution', cell: (e) => h('a', { href: '#/executions/' + e.id }, '#' + e.id) },
    { title: 'Status', cell: (e) => badge(e.status) },
    shard ? { title: 'Shard', class: 'num', cell: (e) => e.shard_index } : null,
    { title: 'Attempt', class: 'num', cell: (e) => e.attempt },
    { title: 'Started', cell: (e) => timeEl(e.started_at, zone) },
    { title: 'Duration', class: 'num', cell: (e) => fmtDuration(e.duration_ms) + (e.finished_at ? '' : ' so far') },
    { title: 'Instance', cell: (e) => e.instance_id || '—' },
    { title: 'Error', cell: (e) => (e.error ? h('span', { class: 'error' }, e.error) : '') },
  ].filter(Boolean), items, 'No executions yet.');
}
