// execution_detail.js - one run of a job (GET /executions/ID): its status,
// times, exit/HTTP/gRPC status, error, progress and full output.  While it
// runs the page re-reads it every 1.5 s: the output follows the task (kept
// scrolled to the bottom unless the user scrolled up) and an operator can
// kill it.

import { get, post } from '../api.js';
import { session } from '../session.js';
import { h, fill, timeEl, fmtDuration, pageHeader, toast, act, confirmDialog, showError } from '../ui.js';
import { statusBadge, liveDuration } from './executions.js';

const POLL_MS = 1500;
// outputs keep their tail; the text then begins with this line
const DROPPED = /^\[\.\.\. (\d+) bytes? dropped \.\.\.\]\n/;
const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
  'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED',
  'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

export async function render(ctx) {
  const id = ctx.params[0];
  const kill = h('button', { type: 'button', class: 'danger', hidden: true }, 'Kill');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(pageHeader('Execution #' + id, kill), body);

  let exec;
  try {
    exec = await get('/executions/' + id);
  } catch (e) {
    if (!ctx.stale()) showError(body, e);
    return;
  }
  // The job tells the kind (how to name exit_code), zone and department;
  // a caller who may not read the job still sees the run.
  let job = null;
  try {
    job = await get('/jobs/' + exec.job.id);
  } catch (e) { /* shown as "Exit status", no Kill */ }
  if (ctx.stale()) return;

  const props = h('div', { class: 'card' });
  const outputPart = outputView(exec.status === 'running');
  fill(body, props, outputPart.el);

  let fetchedAt = Date.now();
  const show = () => {
    fill(props, facts(exec, job, fetchedAt), progressView(exec));
    outputPart.set(exec.output || '', exec.status === 'running');
    kill.hidden = !(exec.status === 'running' && job && session.canOperate(job.department.id));
  };
  show();

  kill.addEventListener('click', async () => {
    const ok = await confirmDialog(`Kill job ${exec.job.name}? Its running execution #${exec.id} will be stopped.`, 'Kill');
    if (ok) await act(kill, () => post('/jobs/' + exec.job.id + '/kill'), 'Kill requested: the run stops shortly.');
  });

  if (exec.status !== 'running') return;
  let busy = false, failing = false;
  ctx.every(1000, () => tickElapsed(props));
  ctx.every(POLL_MS, async () => {
    if (busy || exec.status !== 'running') return;
    busy = true;
    try {
      const next = await get('/executions/' + id);
      if (ctx.stale()) return;
      exec = next;
      failing = false;
      fetchedAt = Date.now();
      show();
      if (exec.status !== 'running') toast(`Execution #${id} ended: ${exec.status.replace('_', ' ')}.`, exec.status === 'succeeded' ? 'ok' : 'error');
    } catch (e) {
      // A hiccup: say so once and keep trying.
      if (!ctx.stale() && !failing) toast('Could not refresh: ' + e.message, 'error');
      failing = true;
    } finally {
      busy = false;
    }
  });
}

// --- the facts ---

function exitLabel(job) {
  if (!job) return 'Exit status';
  return { shell: 'Exit code', http: 'HTTP status', grpc: 'gRPC status' }[job.kind] || 'Exit status';
}

function exitValue(code, job) {
  if (code === null || code === undefined) return '—';
  if (job && job.kind === 'grpc' && GRPC_CODES[code]) return code + ' (' + GRPC_CODES[code] + ')';
  return String(code);
}

function facts(exec, job, fetchedAt) {
  const zone = job ? job.timezone : undefined;
  const row = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  const duration = exec.status === 'running'
    ? h('span', { class: 'elapsed', dataset: { base: String((exec.duration_ms || 0) - fetchedAt) } },
      liveDuration((exec.duration_ms || 0) + Date.now() - fetchedAt), ' so far')
    : fmtDuration(exec.duration_ms);
  return h('dl', { class: 'props exec-props' },
    row('Status', statusBadge(exec.status)),
    row('Job', [h('a', { href: '#/jobs/' + exec.job.id }, exec.job.name), ' ',
      h('a', { href: '#/executions?job=' + exec.job.id, class: 'muted' }, '(all its runs)')]),
    row('Scheduled for', timeEl(exec.scheduled_for, zone)),
    row('Started', timeEl(exec.started_at, zone)),
    row('Finished', exec.finished_at ? timeEl(exec.finished_at, zone) : h('span', { class: 'muted' }, 'not yet')),
    row('Duration', duration),
    row('Attempt', String(exec.attempt)),
    exec.shard_index > 0 || (job && job.shards > 1)
      ? row('Shard', String(exec.shard_index) + (job && job.shards > 1 ? ' (of ' + job.shards + ' shards, 0–' + (job.shards - 1) + ')' : '')) : null,
    row('Instance', exec.instance_id ? h('a', { href: '#/instances', class: 'mono' }, exec.instance_id) : '—'),
    row(exitLabel(job), exitValue(exec.exit_code, job)),
    row('Error', exec.error ? h('span', { class: 'error pre-wrap' }, exec.error) : h('span', { class: 'muted' }, 'none')));
}

function tickElapsed(root) {
  for (const el of root.querySelectorAll('.elapsed')) {
    el.firstChild.textContent = liveDuration(Number(el.dataset.base) + Date.now());
  }
}

// A long-running task's last report: percent and what it is doing.
function progressView(exec) {
  const message = exec.message || null;
  if ((exec.progress === null || exec.progress === undefined) && !message) return null;
  const parts = [];
  if (exec.progress !== null && exec.progress !== undefined) {
    const bar = h('progress', { id: 'exec-progress', max: 100, value: exec.progress }, exec.progress + ' %');
    parts.push(h('div', { class: 'progress-row' }, h('label', { for: bar.id }, 'Progress'), bar,
      h('span', { class: 'num' }, exec.progress + ' %')));
  }
  if (message) parts.push(h('p', { class: 'progress-message' }, message));
  return h('div', { class: 'progress-part' }, parts);
}

// --- the output ---

// The <pre> and its furniture; set(text, running) replaces the text only
// when it changed and keeps the view at the bottom while the user has not
// scrolled up.
function outputView(running) {
  const pre = h('pre', { class: 'output', id: 'output', tabindex: '0', 'aria-label': 'Output' });
  const note = h('p', { class: 'muted', hidden: true });
  const copy = h('button', { type: 'button' }, 'Copy output');
  let shownText = null, shownRunning = null;
  let follow = running; // a finished run opens at the top, a running one follows
  const atBottom = () => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8;
  pre.addEventListener('scroll', () => { follow = atBottom(); });
  copy.addEventListener('click', () => copyText(shownText || '', pre));

  const set = (text, isRunning) => {
    // an empty output still changes its words when the run ends
    if (text === shownText && (text !== '' || isRunning === shownRunning)) return;
    shownText = text;
    shownRunning = isRunning;
    pre.classList.toggle('is-empty', !text);
    copy.disabled = !text;
    pre.textContent = text || (isRunning ? '(no output yet)' : '(no output)');
    const m = text.match(DROPPED);
    note.hidden = !m;
    if (m) {
      fill(note, `Only the last 64 KiB of the output are kept: the first `
        + `${Number(m[1]).toLocaleString()} bytes were dropped.`);
    }
    if (follow) pre.scrollTop = pre.scrollHeight;
  };
  const el = h('section', {},
    h('div', { class: 'output-head' }, h('h2', {}, 'Output'), copy), note, pre);
  return { el, set };
}

async function copyText(text, pre) {
  if (!text) return;
  try {
    if (!navigator.clipboard) throw new Error('no clipboard');
    await navigator.clipboard.writeText(text);
    toast('Output copied.');
  } catch (e) {
    // No clipboard access (permissions, plain http): select the text instead.
    const range = document.createRange();
    range.selectNodeContents(pre);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    pre.focus();
    toast('The output is selected: press Ctrl+C (⌘C on a Mac) to copy it.');
  }
}
