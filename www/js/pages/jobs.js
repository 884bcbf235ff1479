// jobs.js - the jobs list: GET /jobs with search, filters, sort and pages.
//
// The filters live in the hash (#/jobs?q=back&status=paused) so a view can
// be reloaded and linked; they are written back with replaceState, which
// does not re-render the page (the search field keeps its focus).  Pages
// follow the API's keyset cursors: the cursors of the pages before this one
// are kept in a stack for "Previous".  The list refreshes every 5 s.

import { get } from '../api.js';
import { session } from '../session.js';
import { h, fill, timeEl, relTime, badge, pageHeader, select, field, table, showError } from '../ui.js';
import { describeSchedule } from '../cronwords.js';

const STATUSES = ['waiting', 'running', 'paused', 'done'];
const KINDS = [['shell', 'shell'], ['http', 'http'], ['grpc', 'grpc'], ['noop', 'noop']];
// Every order GET /jobs accepts (docs/openapi.json), in words.
const SORTS = [
  ['name', 'Name (A to Z)'],
  ['-name', 'Name (Z to A)'],
  ['next_time', 'Next run (soonest first)'],
  ['-next_time', 'Next run (latest first)'],
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['-updated_at', 'Recently changed'],
  ['updated_at', 'Least recently changed'],
  ['id', 'Id (ascending)'],
  ['-id', 'Id (descending)'],
];
const FILTERS = ['q', 'department', 'status', 'kind', 'sort'];
const PAGE_SIZE = 50;

export async function render(ctx) {
  const state = {
    filters: Object.fromEntries(FILTERS.map((k) => [k, ctx.query.get(k) || ''])),
    cursor: null, // this page's cursor (null: the first page)
    before: [], // cursors of the previous pages
    next: null,
    seq: 0,
  };

  const newJob = session.isManagerSomewhere()
    ? h('a', { class: 'button primary', href: '#/jobs/new' }, 'New job') : null;
  const count = h('p', { class: 'muted jobs-count', 'aria-live': 'polite' });
  const list = h('div', { class: 'jobs-list' });
  const prev = h('button', { type: 'button' }, 'Previous');
  const next = h('button', { type: 'button' }, 'Next');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next);

  async function load() {
    const seq = ++state.seq;
    try {
      const page = await get('/jobs', {
        ...state.filters, limit: PAGE_SIZE, cursor: state.cursor,
      });
      if (seq !== state.seq || ctx.stale()) return; // a newer load is on its way
      state.next = page.next;
      count.textContent = page.total === 1 ? '1 job' : page.total + ' jobs';
      fill(list, jobsTable(page.items, state.filters));
      prev.disabled = state.before.length === 0;
      next.disabled = !page.next;
      pager.hidden = prev.disabled && next.disabled;
    } catch (e) {
      if (seq === state.seq && !ctx.stale()) showError(list, e);
    }
  }

  // A filter changed: back to the first page, and into the hash.
  function setFilter(name, value) {
    state.filters[name] = value;
    state.cursor = null;
    state.before = [];
    const q = new URLSearchParams();
    for (const k of FILTERS) if (state.filters[k]) q.set(k, state.filters[k]);
    const qs = q.toString();
    history.replaceState(null, '', '#/jobs' + (qs ? '?' + qs : ''));
    load();
  }

  prev.addEventListener('click', () => {
    state.cursor = state.before.pop() || null;
    load();
  });
  next.addEventListener('click', () => {
    if (!state.next) return;
    state.before.push(state.cursor);
    state.cursor = state.next;
    load();
  });

  ctx.main.append(
    pageHeader('Jobs', newJob),
    toolbar(state.filters, setFilter),
    count, list, pager,
  );
  await load();
  ctx.every(5000, load);
}

// Search, Department, Status, Kind and Sort.
function toolbar(filters, setFilter) {
  const search = h('input', {
    type: 'search', value: filters.q, placeholder: 'part of a name', autocomplete: 'off',
  });
  let timer = null;
  // Debounced: one request when the typing pauses, not one per key.
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => setFilter('q', search.value.trim()), 300);
  });
  const choose = (name, label, options) => {
    const sel = select({}, options, filters[name]);
    sel.addEventListener('change', () => setFilter(name, sel.value));
    return field(label, sel);
  };
  const depts = (session.me.departments || []).map((d) => [String(d.id), d.name]);
  return h('div', { class: 'toolbar', role: 'search' },
    field('Search', search),
    choose('department', 'Department', [['', 'All departments'], ...depts]),
    choose('status', 'Status', [['', 'Any status'], ...STATUSES.map((s) => [s, s])]),
    choose('kind', 'Kind', [['', 'Any kind'], ...KINDS]),
    choose('sort', 'Sort', SORTS));
}

function jobsTable(jobs, filters) {
  const filtered = FILTERS.some((k) => k !== 'sort' && filters[k]);
  return table([
    { title: 'Name', cell: (j) => h('a', { href: '#/jobs/' + j.id }, j.name) },
    { title: 'Department', cell: (j) => j.department.name },
    { title: 'Kind', cell: (j) => (j.shards > 1 ? h('span', {}, j.kind, h('span', { class: 'muted' }, ' × ' + j.shards + ' shards')) : j.kind) },
    { title: 'Schedule', cell: scheduleCell },
    { title: 'Next run', cell: nextRunCell },
    { title: 'Last result', cell: lastResultCell },
    { title: 'Status', cell: statusCell },
  ], jobs, filtered ? 'No jobs match these filters.' : 'No jobs yet.');
}

// The schedule in words (when they can be said exactly) and as written.
export function scheduleCell(j) {
  const words = describeSchedule(j.schedule);
  return h('span', { class: 'schedule' },
    words ? h('span', { class: 'schedule-words' }, words) : null,
    h('code', {}, j.schedule),
    j.timezone && j.timezone !== 'UTC' ? h('span', { class: 'muted' }, ' ' + j.timezone) : null,
    j.schedule_error ? h('span', { class: 'error schedule-words' }, j.schedule_error) : null);
}

function nextRunCell(j) {
  if (j.status === 'paused') return h('span', { class: 'muted' }, 'paused');
  if (j.status === 'done') return h('span', { class: 'muted' }, 'done');
  // While it runs, next_time is the fire time being run, not the next one.
  if (j.running) return h('span', { class: 'muted' }, 'after this run');
  if (!j.next_time) return h('span', { class: 'muted' }, '—');
  return h('span', {}, timeEl(j.next_time, j.timezone),
    h('span', { class: 'muted rel' }, ' ' + relTime(j.next_time)));
}

function lastResultCell(j) {
  const last = j.last_execution;
  if (!last) return h('span', { class: 'muted' }, 'never run');
  return h('span', { class: 'last-result' },
    h('a', { href: '#/executions/' + last.id, title: 'Execution #' + last.id }, badge(last.status)),
    ' ', timeEl(last.finished_at || last.started_at, j.timezone));
}

function statusCell(j) {
  if (j.running) {
    return h('span', { class: 'job-running' }, badge('running'),
      j.kill_requested_at ? h('span', { class: 'muted' }, ' (kill requested)') : null,
      j.pause_requested ? h('span', { class: 'muted' }, ' (pauses after this run)') : null);
  }
  return badge(j.paused ? 'paused' : j.status);
}
