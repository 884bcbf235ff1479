// workflow.js - a job's workflow (#/jobs/ID/workflow): every job connected
// to it through dependencies (GET /jobs/ID/workflow), drawn as a graph in
// SVG, upstream jobs on the left, each with its last run; and a table of
// the same jobs for reading and for screen readers.  Refreshed every 5 s.
//
// Also DepsEditor, the "Runs after" part of the job editor (job_edit.js):
// the job's upstream jobs and their conditions, saved with
// PUT /jobs/ID/dependencies (upstream jobs the user cannot see are shown
// but left as they are; the API keeps them).
//
// Layout: a job's column is the length of the longest chain of upstream
// jobs before it; within a column, jobs are ordered by where their
// upstream jobs are, which keeps most edges from crossing.

import { get, put, ApiError } from '../api.js';
import { h, fill, timeEl, fmtTime, badge, pageHeader, table, showError, toast, errorText } from '../ui.js';

const REFRESH_MS = 5000;
const SVGNS = 'http://www.w3.org/2000/svg';
const NODE_W = 200;
const NODE_H = 56;
const GAP_X = 80;
const GAP_Y = 24;
const PAD = 16;
const CONDITIONS = ['success', 'failure', 'always'];
const CONDITION_WORDS = { success: 'on success', failure: 'on failure', always: 'always' };
// The badge colours of app.css (.st-*), as fill and stroke of a node.
const NODE_COLOURS = {
  succeeded: ['#dafbe1', '#1a7f37'],
  failed: ['#ffebe9', '#b42318'],
  timed_out: ['#fff1c2', '#9a6700'],
  abandoned: ['#fff1c2', '#9a6700'],
  killed: ['#f3e8ff', '#6e2b9e'],
  running: ['#ddf4ff', '#0b69c7'],
  none: ['#eef1f4', '#8c959f'],
};
// Edges: success solid green, failure dashed red, always dotted grey.
const EDGE_STYLES = {
  success: { stroke: '#1a7f37', dash: null },
  failure: { stroke: '#b42318', dash: '7 4' },
  always: { stroke: '#57606a', dash: '2 4' },
};

// An SVG element; children are elements or text.
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function nodeName(n) {
  return n.hidden ? 'a job you cannot see (#' + n.id + ')' : n.name;
}

// A fire time in few characters: the time alone today, else with the date.
const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
function shortTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toDateString() === new Date().toDateString() ? clockFmt.format(d) : dayFmt.format(d);
}

function shortText(text, max) {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

// Columns and rows of the graph: {pos: Map(id -> {col, row}), cols, rows}.
export function layout(nodes, edges) {
  const ids = nodes.map((n) => n.id);
  const ups = new Map(ids.map((id) => [id, []]));
  const downs = new Map(ids.map((id) => [id, []]));
  for (const e of edges) {
    if (!ups.has(e.downstream_id) || !downs.has(e.upstream_id)) continue;
    ups.get(e.downstream_id).push(e.upstream_id);
    downs.get(e.upstream_id).push(e.downstream_id);
  }
  // Longest chain before each job (Kahn's order; the graph has no cycle).
  const col = new Map(ids.map((id) => [id, 0]));
  const waiting = new Map(ids.map((id) => [id, ups.get(id).length]));
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order = [];
  while (ready.length) {
    const id = ready.shift();
    order.push(id);
    for (const d of downs.get(id)) {
      col.set(d, Math.max(col.get(d), col.get(id) + 1));
      waiting.set(d, waiting.get(d) - 1);
      if (waiting.get(d) === 0) ready.push(d);
    }
  }
  for (const id of ids) if (!order.includes(id)) order.push(id); // never, unless edited meanwhile
  const columns = [];
  for (const id of order) {
    const c = col.get(id);
    while (columns.length <= c) columns.push([]);
    columns[c].push(id);
  }
  const pos = new Map();
  columns.forEach((list, c) => {
    // Order by the mean row of the upstream jobs already placed.
    const key = (id) => {
      const rows = ups.get(id).map((u) => pos.get(u)).filter(Boolean).map((p) => p.row);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
    };
    list.sort((a, b) => key(a) - key(b) || a - b);
    list.forEach((id, r) => pos.set(id, { col: c, row: r }));
  });
  return { pos, cols: columns.length, rows: Math.max(1, ...columns.map((l) => l.length)) };
}

// An edge that skips columns arcs over the jobs between its ends (by this
// much more per column skipped): a straight one would run through them.
const ARC_LIFT = 46;
const ARC_LIFT_PER_COL = 14;

function drawGraph(g, focusId) {
  const { pos, cols, rows } = layout(g.nodes, g.edges);
  const span = (e) => pos.get(e.downstream_id).col - pos.get(e.upstream_id).col;
  const drawn = g.edges.filter((e) => pos.has(e.upstream_id) && pos.has(e.downstream_id));
  // Room above the first row for the arcs that leave it.
  const top = Math.max(0, ...drawn.filter((e) => span(e) > 1 &&
    Math.min(pos.get(e.upstream_id).row, pos.get(e.downstream_id).row) === 0)
    .map((e) => ARC_LIFT + ARC_LIFT_PER_COL * (span(e) - 2)));
  const width = PAD * 2 + cols * NODE_W + (cols - 1) * GAP_X;
  const height = PAD * 2 + top + rows * NODE_H + (rows - 1) * GAP_Y;
  const xy = (id) => {
    const p = pos.get(id);
    return { x: PAD + p.col * (NODE_W + GAP_X), y: PAD + top + p.row * (NODE_H + GAP_Y) };
  };
  const defs = svg('defs', {}, ...Object.entries(EDGE_STYLES).map(([cond, st]) =>
    svg('marker', { id: 'wf-arrow-' + cond, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: st.stroke }))));
  const edgeEls = drawn.map((e) => {
    const a = xy(e.upstream_id);
    const b = xy(e.downstream_id);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    let d = `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`;
    if (span(e) > 1) {
      const cy = Math.min(a.y, b.y) - ARC_LIFT - ARC_LIFT_PER_COL * (span(e) - 2);
      d = `M ${x1} ${y1} C ${x1 + GAP_X} ${cy}, ${x2 - GAP_X} ${cy}, ${x2 - 2} ${y2}`;
    }
    const st = EDGE_STYLES[e.condition] || EDGE_STYLES.success;
    return svg('g', { class: 'wf-edge', 'data-condition': e.condition },
      svg('path', { d, fill: 'none',
        stroke: st.stroke, 'stroke-width': 2, 'stroke-dasharray': st.dash, 'marker-end': 'url(#wf-arrow-' + e.condition + ')' }),
      svg('title', {}, CONDITION_WORDS[e.condition] || e.condition));
  });
  const nodeEls = g.nodes.map((n) => {
    const { x, y } = xy(n.id);
    const st = n.hidden ? 'none' : (n.status === 'running' ? 'running' : (n.last_status || 'none'));
    const [fill, stroke] = NODE_COLOURS[st] || NODE_COLOURS.none;
    const name = nodeName(n);
    const last = n.hidden ? '' : (n.last_status || 'never run') +
      (n.last_scheduled_for ? ' · ' + shortTime(n.last_scheduled_for) : '');
    const status = n.hidden ? '' : (n.status === 'waiting' ? '' : n.status);
    const label = name + (n.hidden ? '' : ': last run ' + (n.last_status || 'never') +
      (n.last_scheduled_for ? ' for ' + fmtTime(n.last_scheduled_for) : '') + (status ? ', ' + status : ''));
    const box = svg('g', { class: 'wf-node', 'data-job': n.id, 'data-status': st },
      svg('rect', { x, y, width: NODE_W, height: NODE_H, rx: 6, fill, stroke,
        'stroke-width': n.focus ? 3 : 1.5 }),
      svg('text', { x: x + 10, y: y + 22, 'font-weight': 600, 'font-size': 14, fill: '#1c2430' },
        shortText(name, 24)),
      svg('text', { x: x + 10, y: y + 42, 'font-size': 12, fill: '#5d6877' },
        shortText(last + (status ? ' · ' + status : ''), 32)),
      svg('title', {}, label));
    if (n.hidden || n.id === focusId) {
      box.setAttribute('role', 'img');
      box.setAttribute('aria-label', label);
      return box;
    }
    // Another job: a link to its own workflow.
    return svg('a', { href: '#/jobs/' + n.id + '/workflow', 'aria-label': label }, box);
  });
  return svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group',
    'aria-label': 'Workflow graph: ' + g.nodes.length + ' jobs, ' + g.edges.length + ' dependencies',
    class: 'wf-svg' }, defs, ...edgeEls, ...nodeEls);
}

function legend() {
  const item = (cond) => {
    const st = EDGE_STYLES[cond];
    return h('span', { class: 'wf-legend-item' },
      svg('svg', { width: 36, height: 10, 'aria-hidden': 'true' },
        svg('line', { x1: 0, y1: 5, x2: 36, y2: 5, stroke: st.stroke, 'stroke-width': 2, 'stroke-dasharray': st.dash })),
      ' ', CONDITION_WORDS[cond]);
  };
  return h('p', { class: 'muted wf-legend' }, 'Arrows go from a job to the jobs that run after it: ',
    CONDITIONS.map(item));
}

// The jobs as a table, each with what it runs after.
function jobsTable(g) {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const after = (n) => {
    const list = g.edges.filter((e) => e.downstream_id === n.id).map((e) => {
      const u = byId.get(e.upstream_id);
      return nodeName(u || { id: e.upstream_id, hidden: true }) + ' (' + CONDITION_WORDS[e.condition] + ')';
    });
    return list.length ? list.join(', ') : h('span', { class: 'muted' }, 'nothing (it starts the workflow)');
  };
  return table([
    { title: 'Job', cell: (n) => (n.hidden ? h('span', { class: 'muted' }, nodeName(n))
      : h('a', { href: '#/jobs/' + n.id }, n.name)) },
    { title: 'Status', cell: (n) => (n.hidden ? '' : badge(n.status)) },
    { title: 'Last run', cell: (n) => (n.hidden || !n.last_execution_id ? h('span', { class: 'muted' }, n.hidden ? '' : 'never run')
      : h('span', {}, h('a', { href: '#/executions/' + n.last_execution_id }, '#' + n.last_execution_id), ' ', badge(n.last_status))) },
    { title: 'Last fire time', cell: (n) => timeEl(n.last_scheduled_for) },
    { title: 'Runs after', cell: after },
  ], g.nodes, 'No jobs.');
}

export async function render(ctx) {
  const id = Number(ctx.params[0]);
  const head = h('div');
  const graph = h('div', { class: 'wf-graph' });
  const list = h('div');
  ctx.main.append(head, graph,
    h('section', { 'aria-labelledby': 'wf-jobs-h' }, h('h2', { id: 'wf-jobs-h' }, 'Jobs in this workflow'), list));
  let busy = false;

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const g = await get('/jobs/' + id + '/workflow');
      if (ctx.stale()) return;
      const focus = g.nodes.find((n) => n.id === id) || { name: '#' + id };
      fill(head, pageHeader('Workflow of ' + focus.name),
        h('p', { class: 'muted' }, h('a', { href: '#/jobs/' + id }, '← ' + focus.name)));
      if (g.edges.length === 0) {
        fill(graph, h('p', { class: 'empty' }, focus.name + ' runs after no job and no job runs after it. ',
          'Dependencies are set in the job\'s editor (Runs after), or with tablecron job edit --after.'));
      } else {
        fill(graph, drawGraph(g, id), legend(),
          g.truncated ? h('p', { class: 'muted' }, 'The workflow is larger: only its first ' + g.nodes.length + ' jobs are shown.') : null);
      }
      fill(list, jobsTable(g));
    } catch (e) {
      if (ctx.stale()) return;
      if (e instanceof ApiError && e.status === 404) {
        fill(head, pageHeader('Job not found'));
        fill(graph, h('p', {}, 'There is no job #' + id + ' (or it is not in your departments). ',
          h('a', { href: '#/jobs' }, 'Back to the jobs.')));
        fill(list);
      } else {
        showError(graph, e);
      }
    } finally {
      busy = false;
    }
  }

  await refresh();
  ctx.every(REFRESH_MS, refresh);
}

// --- the job editor's "Runs after" ---

let editorSeq = 0;

export class DepsEditor {
  // job: the job being edited (null: a new one); schedule: its schedule
  // input, given @manual when the first upstream job is added to an empty one.
  constructor(job, schedule) {
    this.job = job;
    this.schedule = schedule;
    this.rows = [];
    this.hidden = [];
    this.original = '[]';
    this.listId = 'deps-jobs-' + (++editorSeq);
    this.box = h('div', { class: 'deps-rows' });
    this.names = h('datalist', { id: this.listId });
    this.add = h('button', { type: 'button' }, 'Add an upstream job');
    this.add.addEventListener('click', () => {
      this.addRow({ job: '', condition: 'success' }).input.focus();
      if (this.schedule && !this.schedule.value.trim()) {
        this.schedule.value = '@manual';
        this.schedule.dispatchEvent(new Event('input', { bubbles: true }));
      }
    });
    this.fieldset = h('fieldset', { class: 'deps' }, h('legend', {}, 'Runs after'),
      h('p', { class: 'hint' }, 'This job runs when a fire time of each job listed here has ended as its condition says ',
        '(all of them, for the same fire time). A job that only runs after others can have the schedule @manual.'),
      this.box, this.names, h('div', { class: 'actions' }, this.add));
    this.loaded = this.load();
  }

  async load() {
    try {
      const [deps, jobs] = await Promise.all([
        this.job ? get('/jobs/' + this.job.id + '/dependencies') : Promise.resolve({ upstreams: [] }),
        get('/jobs', { limit: 500, sort: 'name' }),
      ]);
      fill(this.names, jobs.items.filter((j) => !this.job || j.id !== this.job.id)
        .map((j) => h('option', { value: j.name })));
      for (const u of deps.upstreams) {
        if (u.hidden) this.hidden.push(u);
        else this.addRow({ job: u.name, condition: u.condition });
      }
      this.original = JSON.stringify(this.read());
      this.drawHidden();
    } catch (e) {
      fill(this.box, h('p', { class: 'error' }, 'The dependencies could not be read: ' + errorText(e)));
      this.add.disabled = true;
      this.failed = true;
    }
  }

  drawHidden() {
    for (const u of this.hidden) {
      this.box.append(h('p', { class: 'muted deps-hidden' }, 'Also after a job you cannot see (#' + u.id + '), ' +
        CONDITION_WORDS[u.condition] + ': kept as it is.'));
    }
  }

  addRow(dep) {
    const n = this.rows.length + 1;
    const input = h('input', { type: 'text', value: dep.job, list: this.listId, autocomplete: 'off',
      spellcheck: 'false', 'aria-label': 'Upstream job ' + n, placeholder: 'job name' });
    const cond = h('select', { 'aria-label': 'Condition ' + n },
      CONDITIONS.map((c) => h('option', { value: c, selected: c === dep.condition }, CONDITION_WORDS[c])));
    const remove = h('button', { type: 'button', class: 'link', 'aria-label': 'Remove upstream job ' + n }, 'Remove');
    const row = { input, cond, el: h('div', { class: 'deps-row' }, input, cond, remove) };
    remove.addEventListener('click', () => {
      this.rows = this.rows.filter((r) => r !== row);
      row.el.remove();
    });
    this.rows.push(row);
    this.box.append(row.el);
    return row;
  }

  // The upstream jobs the form lists (empty names left out).
  read() {
    return this.rows.map((r) => ({ job: r.input.value.trim(), condition: r.cond.value }))
      .filter((d) => d.job);
  }

  changed() {
    return !this.failed && JSON.stringify(this.read()) !== this.original;
  }

  // Save them for job jobId when changed.  For a job just created a
  // refusal leaves the job made: say so and open its editor; true when
  // the caller may go on.
  async save(jobId, created, ctx) {
    await this.loaded;
    if (!this.changed()) return true;
    try {
      await put('/jobs/' + jobId + '/dependencies', { upstreams: this.read() });
      return true;
    } catch (e) {
      if (!created) throw e;
      toast('The job was created, but not its dependencies: ' + errorText(e), 'error');
      ctx.navigate('#/jobs/' + jobId + '/edit');
      return false;
    }
  }
}
