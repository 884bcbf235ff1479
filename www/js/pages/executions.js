// executions.js - the runs of the caller's jobs, newest first (GET
// /executions), filtered by job, department, status and time.  The filters
// live in the hash query (#/executions?job=hello-a&status=failed) so a
// filtered list can be reloaded and linked; Next/Previous page with the API's
// cursors.  Running rows stay live: the page re-reads every 2 s while one is
// on screen, else every 10 s.

import { get } from '../api.js';
import { session } from '../session.js';
import { h, fill, timeEl, fmtDuration, badge, field, select, pageHeader, table, showError } from '../ui.js';

// table() with the class these pages style (badges not stretched on phones).
export function runsTable(columns, rows, empty) {
  const t = table(columns, rows, empty);
  t.classList.add('runs-table');
  return t;
}

const STATUSES = ['running', 'succeeded', 'failed', 'timed_out', 'killed', 'abandoned'];
const FAST_MS = 2000, SLOW_MS = 10000;

export async function render(ctx) {
  const q = ctx.query;
  const f = {
    job: q.get('job') || '',
    department: q.get('department') || '',
    status: q.get('status') || '',
    since: q.get('since') || '',
    until: q.get('until') || '',
    limit: q.get('limit') || '50',
  };

  const jobNote = h('p', { class: 'muted', id: 'filter-job-note', 'aria-live': 'polite' });
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const pager = h('div', { class: 'pager' });
  ctx.main.append(pageHeader('Executions'), filterForm(ctx, f), jobNote, list, pager);

  // The job filter may be a name: find its id first.
  let jobId = '';
  if (f.job) {
    try {
      jobId = await resolveJob(f.job);
    } catch (e) {
      if (!ctx.stale()) showError(list, e);
      return;
    }
    if (ctx.stale()) return;
    if (!jobId) {
      fill(list, h('p', { class: 'error', role: 'alert' },
        `No job is named “${f.job}”. Type a job id, or a job’s exact name.`));
      return;
    }
    if (jobId !== f.job) fill(jobNote, `Runs of job ${f.job} (#${jobId}).`);
  }

  const params = { job: jobId, department: f.department, status: f.status, since: f.since, until: f.until, limit: f.limit };
  const cursors = []; // cursors of the pages before this one ('' = first page)
  let cursor = '';
  let page = null, fetchedAt = 0, triedAt = 0, shownKey = '';
  let seq = 0, busy = false;

  // Polls skip while a read is under way; paging (force) starts a new read
  // and the older answer, for another page, is dropped when it comes.
  const load = async (force) => {
    if (busy && !force) return;
    const mine = ++seq;
    busy = true;
    try {
      const res = await get('/executions', { ...params, cursor });
      if (ctx.stale() || mine !== seq) return;
      page = res;
      fetchedAt = Date.now();
      show();
    } catch (e) {
      if (ctx.stale() || mine !== seq) return;
      showError(list, e);
      shownKey = ''; // the table is gone: draw it again next time
    } finally {
      if (mine === seq) {
        busy = false;
        triedAt = Date.now();
      }
    }
  };

  // Redraw the table only when something other than the running rows'
  // elapsed time changed, so hover and keyboard focus survive the polling.
  const show = () => {
    const key = JSON.stringify(page.items.map((e) => (e.status === 'running' ? { ...e, duration_ms: 0 } : e)));
    if (key !== shownKey) {
      shownKey = key;
      const focused = document.activeElement && list.contains(document.activeElement)
        ? document.activeElement.getAttribute('href') : null;
      fill(list, execTable(page.items, fetchedAt, f));
      if (focused) {
        const again = [...list.querySelectorAll('a')].find((a) => a.getAttribute('href') === focused);
        if (again) again.focus();
      }
    } else {
      tickElapsed(list);
    }
    drawPager();
  };

  const drawPager = () => {
    const prev = h('button', { type: 'button', disabled: cursors.length === 0 }, 'Previous');
    const next = h('button', { type: 'button', disabled: !page.next }, 'Next');
    prev.addEventListener('click', () => { prev.disabled = next.disabled = true; cursor = cursors.pop(); go(); });
    next.addEventListener('click', () => { prev.disabled = next.disabled = true; cursors.push(cursor); cursor = page.next; go(); });
    const n = page.items.length;
    fill(pager, prev, next, h('span', { class: 'muted' },
      n ? `Page ${cursors.length + 1} · ${n} execution${n === 1 ? '' : 's'}` : ''));
  };

  const go = async () => {
    shownKey = '';
    await load(true);
    if (!ctx.stale()) ctx.main.scrollIntoView({ block: 'start' });
  };

  await load();
  // One 1 s tick: the elapsed times move every second; the list is re-read
  // every 2 s while a row runs, else every 10 s.
  ctx.every(1000, () => {
    if (!page) return;
    tickElapsed(list);
    const live = page.items.some((e) => e.status === 'running');
    if (Date.now() - triedAt >= (live ? FAST_MS : SLOW_MS) - 100) load();
  });
}

// --- filters ---

function filterForm(ctx, f) {
  const job = h('input', { name: 'job', value: f.job, placeholder: 'id or name', autocomplete: 'off', size: 14 });
  const depts = [['', 'All']].concat((session.me.departments || []).map((d) => [d.id, d.name]));
  const dept = select({ name: 'department' }, depts, f.department);
  const status = select({ name: 'status' }, [['', 'All']].concat(STATUSES.map((s) => [s, s.replace('_', ' ')])), f.status);
  const since = h('input', { name: 'since', type: 'datetime-local', value: toLocalInput(f.since) });
  const until = h('input', { name: 'until', type: 'datetime-local', value: toLocalInput(f.until) });
  const limit = select({ name: 'limit' }, [['25', '25'], ['50', '50'], ['100', '100'], ['200', '200']], f.limit);

  const apply = () => {
    const p = new URLSearchParams();
    const put = (k, v) => { if (v) p.set(k, v); };
    put('job', job.value.trim());
    put('department', dept.value);
    put('status', status.value);
    put('since', fromLocalInput(since.value));
    put('until', fromLocalInput(until.value));
    if (limit.value !== '50') p.set('limit', limit.value);
    const s = p.toString();
    ctx.navigate('#/executions' + (s ? '?' + s : ''));
  };
  const form = h('form', { class: 'toolbar exec-filters', role: 'search', 'aria-label': 'Filter executions' },
    field('Job', job),
    field('Department', dept), field('Status', status),
    field('Started since', since), field('Started before', until), field('Per page', limit),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { class: 'button', href: '#/executions' }, 'Clear')));
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  // A choice in a list applies at once; typed fields wait for Enter/Filter.
  for (const el of [dept, status, limit]) el.addEventListener('change', apply);
  return form;
}

// ISO UTC (hash) ⇄ the local "YYYY-MM-DDTHH:MM" a datetime-local input holds.
function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v); // no zone in the text: read as local time
  return isNaN(d) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A job id as typed, or the id of the job with exactly that name ('' if none).
async function resolveJob(text) {
  if (/^\d+$/.test(text)) return text;
  const res = await get('/jobs', { q: text, limit: 500 });
  const hit = res.items.find((j) => j.name === text)
    || res.items.find((j) => j.name.toLowerCase() === text.toLowerCase());
  return hit ? String(hit.id) : '';
}

// --- the table ---

export function statusBadge(status) {
  return badge(status, status.replace('_', ' '));
}

function shorten(text, n) {
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

function execTable(items, fetchedAt, f) {
  const empty = f.job || f.department || f.status || f.since || f.until
    ? 'No execution matches these filters.' : 'No execution yet.';
  return runsTable([
    { title: 'Execution', cell: (e) => h('a', { href: '#/executions/' + e.id }, '#' + e.id) },
    { title: 'Job', class: 'nowrap', cell: (e) => h('a', { href: '#/jobs/' + e.job.id }, e.job.name) },
    { title: 'Status', cell: (e) => statusBadge(e.status) },
    { title: 'Scheduled for', class: 'nowrap', cell: (e) => timeEl(e.scheduled_for) },
    { title: 'Started', class: 'nowrap', cell: (e) => timeEl(e.started_at) },
    { title: 'Duration', class: 'num nowrap', cell: (e) => durationCell(e, fetchedAt) },
    { title: 'Attempt', class: 'num', cell: (e) => String(e.attempt) },
    // Only when a sharded job's runs are on the page.
    items.some((e) => e.shard_index > 0) ? { title: 'Shard', class: 'num', cell: (e) => String(e.shard_index) } : null,
    { title: 'Instance', cell: (e) => h('span', { class: 'mono' }, e.instance_id || '—') },
    { title: 'Exit code', class: 'num', cell: (e) => (e.exit_code === null || e.exit_code === undefined ? '—' : String(e.exit_code)) },
    { title: 'Error', cell: (e) => (e.error ? h('span', { class: 'err-text', title: e.error }, shorten(e.error, 45)) : '') },
  ].filter(Boolean), items, empty);
}

// A running row's duration counts on from what the API said when read
// (tickElapsed moves it on each second).
export function durationCell(e, fetchedAt) {
  if (e.status !== 'running') return fmtDuration(e.duration_ms);
  const base = (e.duration_ms || 0) - fetchedAt;
  return h('span', { class: 'elapsed', dataset: { base: String(base) } }, liveDuration(base + Date.now()));
}

// Whole seconds while it counts (fmtDuration's hundredths would flicker).
export function liveDuration(ms) {
  ms = Math.max(0, ms);
  return ms < 60000 ? Math.floor(ms / 1000) + ' s' : fmtDuration(ms);
}

export function tickElapsed(root) {
  for (const el of root.querySelectorAll('.elapsed')) {
    el.textContent = liveDuration(Number(el.dataset.base) + Date.now());
  }
}
