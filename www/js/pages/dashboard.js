// dashboard.js - the first page: how the last 24 hours went (runs per
// hour by status as a stacked SVG bar chart, totals), which jobs are failing,
// what runs right now and whether the instances are alive.  Everything comes
// from GET /dashboard, /executions and /instances and refreshes every 10 s.

import { get } from '../api.js';
import { h, fill, timeEl, relTime, badge, pageHeader, showError } from '../ui.js';
import { runsTable as table, durationCell, tickElapsed } from './executions.js';

const HOURS = 24;
const SVG = 'http://www.w3.org/2000/svg';

// Bottom to top in each bar; colours follow the status badges.
const STATUSES = [
  ['succeeded', '#2da44e', 'succeeded'],
  ['failed', '#cf222e', 'failed'],
  ['timed_out', '#d4a72c', 'timed out'],
  ['killed', '#8250df', 'killed'],
  ['abandoned', '#a0522d', 'abandoned'],
  ['running', '#0969da', 'running'],
];

export async function render(ctx) {
  const updated = h('span', { class: 'muted', 'aria-live': 'off' });
  const totals = h('div', { class: 'cards dash-totals' });
  const chartBox = h('div', { class: 'chart' });
  const legend = h('div', { class: 'legend' });
  const failing = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const running = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const instances = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));

  ctx.main.append(
    pageHeader('Dashboard', updated),
    totals,
    h('section', { class: 'card' }, h('h2', { class: 'first' }, 'Runs per hour, last 24 h'), chartBox, legend),
    h('div', { class: 'dash-grid' },
      h('section', {}, h('h2', {}, 'Failing jobs'), failing),
      h('div', {},
        h('section', {}, h('h2', {}, 'Running now'), running),
        h('section', {}, h('h2', {}, 'Instances'), instances))));

  // The chart is drawn at the box's real width so its text stays readable
  // on a phone; redraw when the width changes.
  let data = null, drawnKey = '';
  const draw = () => {
    if (!data) return;
    const width = Math.max(280, Math.floor(chartBox.clientWidth));
    const key = width + JSON.stringify(data.runs_per_hour);
    if (key === drawnKey) return; // unchanged: keep the hover tooltips steady
    drawnKey = key;
    fill(chartBox, chart(data.runs_per_hour, width));
  };
  const ro = new ResizeObserver(() => requestAnimationFrame(draw));
  ro.observe(chartBox);
  ctx.onLeave(() => ro.disconnect());

  let busy = false;
  const load = async () => {
    if (busy) return; // a slow answer must not pile up requests
    busy = true;
    const [dash, inst, run] = await Promise.allSettled([
      get('/dashboard', { hours: HOURS }),
      get('/instances'),
      get('/executions', { status: 'running', limit: 10 }),
    ]);
    busy = false;
    if (ctx.stale()) return;
    if (dash.status === 'fulfilled') {
      data = dash.value;
      fill(totals, totalCards(data.runs_per_hour));
      fill(legend, legendItems(data.runs_per_hour));
      draw();
      fill(failing, failingTable(data.failing_jobs));
    } else {
      drawnKey = ''; // the chart is gone: draw it again next time
      showError(chartBox, dash.reason);
      showError(failing, dash.reason);
    }
    if (inst.status === 'fulfilled') fill(instances, instanceSummary(inst.value.items));
    else showError(instances, inst.reason);
    if (run.status === 'fulfilled') fill(running, runningTable(run.value, Date.now()));
    else showError(running, run.reason);
    fill(updated, 'Updated ' + new Date().toLocaleTimeString());
  };
  await load();
  ctx.every(10000, load);
  ctx.every(1000, () => tickElapsed(running));
}

// --- totals ---

function sums(hours) {
  const s = { total: 0 };
  for (const [st] of STATUSES) s[st] = 0;
  for (const hr of hours) {
    for (const [st] of STATUSES) {
      s[st] += hr[st] || 0;
      s.total += hr[st] || 0;
    }
  }
  return s;
}

function totalCards(hours) {
  const s = sums(hours);
  const bad = s.failed + s.timed_out + s.killed + s.abandoned;
  const finished = s.total - s.running;
  const rate = finished ? Math.floor((1000 * s.succeeded) / finished) / 10 + ' %' : '—';
  const card = (label, value, note, cls) => h('div', { class: 'card' },
    h('div', { class: 'muted' }, label), h('div', { class: 'big ' + (cls || '') }, value),
    note ? h('div', { class: 'muted small' }, note) : null);
  return [
    card('Runs (24 h)', String(s.total), s.running ? s.running + ' running' : null),
    card('Failed', String(bad), 'failed, timed out, killed or abandoned', bad ? 'error' : ''),
    card('Success rate', rate, finished ? 'of ' + finished + ' finished runs' : 'no finished runs'),
  ];
}

// --- chart ---

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c);
  return el;
}

const hourFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const longFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

// "Sat, Nov 21, 14:00–15:00" in the browser's zone.
function hourSpan(iso) {
  const from = new Date(iso);
  return longFmt.format(from) + '–' + hourFmt.format(new Date(from.getTime() + 3600e3));
}

function chart(hours, width) {
  const H = 220, left = 34, right = 8, top = 14, bottom = 36;
  const plotW = width - left - right, plotH = H - top - bottom;
  const n = Math.max(1, hours.length);
  const slot = plotW / n;
  const barW = Math.max(2, slot * 0.72);
  const totals = hours.map((hr) => STATUSES.reduce((a, [st]) => a + (hr[st] || 0), 0));
  const max = Math.max(0, ...totals);
  const y = (v) => top + plotH - (max ? (v * plotH) / max : 0);
  const s = sums(hours);

  const root = svg('svg', {
    viewBox: `0 0 ${width} ${H}`, width, height: H, role: 'img',
    'aria-label': `Runs per hour over the last ${n} hours: ${s.total} runs, ${s.succeeded} succeeded, `
      + `${s.total - s.succeeded - s.running} did not succeed, ${s.running} running`,
  });
  // Baseline, and a gridline at the busiest hour's count.
  root.append(svg('line', { x1: left, x2: width - right, y1: y(0), y2: y(0), stroke: '#8c959f' }),
    axisText(left - 5, y(0) + 4, '0', 'end'));
  if (max) {
    root.append(svg('line', { x1: left, x2: width - right, y1: y(max), y2: y(max), stroke: '#c9d1d9', 'stroke-dasharray': '4 3' }),
      axisText(left - 5, y(max) + 4, String(max), 'end'));
  } else {
    root.append(axisText(left + plotW / 2, top + plotH / 2, 'No runs in the last ' + n + ' hours', 'middle'));
  }

  // Label every step-th hour, a divisor of 24 so the labels sit on round hours.
  const step = [1, 2, 3, 4, 6, 8, 12].find((k) => k * slot >= 40) || 24;
  hours.forEach((hr, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const d = new Date(hr.hour);
    // An invisible column so hovering above a short bar still tells the hour.
    root.append(svg('rect', { x: left + i * slot, y: top, width: slot, height: plotH, fill: 'transparent' },
      svg('title', {}, hourSpan(hr.hour) + ': ' + totals[i] + ' run' + (totals[i] === 1 ? '' : 's'))));
    let base = 0;
    for (const [st, colour, word] of STATUSES) {
      const v = hr[st] || 0;
      if (!v) continue;
      root.append(svg('rect', { x, y: y(base + v), width: barW, height: Math.max(1, y(base) - y(base + v)), fill: colour },
        svg('title', {}, `${hourSpan(hr.hour)}: ${v} ${word}`)));
      base += v;
    }
    if (d.getHours() % step === 0) {
      // keep the last label inside the picture
      const cx = Math.min(left + i * slot + slot / 2, width - 20);
      root.append(axisText(cx, H - bottom + 15, hourFmt.format(d), 'middle'));
      if (d.getHours() === 0 || i === 0) root.append(axisText(cx, H - bottom + 29, dayFmt.format(d), 'middle'));
    }
  });
  return root;
}

function axisText(x, yPos, text, anchor) {
  return svg('text', { x, y: yPos, 'text-anchor': anchor, 'font-size': 11, fill: '#5d6877' }, document.createTextNode(text));
}

function legendItems(hours) {
  const s = sums(hours);
  return STATUSES.map(([st, colour, word]) => {
    const el = h('span', {}, word + ' ' + s[st]);
    el.style.setProperty('--c', colour);
    return el;
  });
}

// --- failing jobs, running now, instances ---

function shorten(text, n) {
  if (!text) return '';
  return text.length > n ? text.slice(0, n - 1) + '…' : text;
}

function failingTable(items) {
  return table([
    { title: 'Job', class: 'nowrap', cell: (j) => h('a', { href: '#/jobs/' + j.id }, j.name) },
    { title: 'Department', cell: (j) => j.department },
    { title: 'Last run', class: 'nowrap', cell: (j) => h('span', {}, badge(j.status), ' ', h('a', { href: '#/executions/' + j.execution_id }, '#' + j.execution_id)) },
    { title: 'Error', cell: (j) => h('span', { class: 'err-text', title: j.error || '' }, shorten(j.error, 90)) },
    { title: 'Finished', cell: (j) => timeEl(j.finished_at) },
  ], items || [], 'No failing jobs: every job’s last run succeeded.');
}

function runningTable(list, fetchedAt) {
  const items = list.items || [];
  const rows = table([
    { title: 'Run', cell: (e) => h('a', { href: '#/executions/' + e.id }, '#' + e.id) },
    { title: 'Job', class: 'nowrap', cell: (e) => h('a', { href: '#/jobs/' + e.job.id }, e.job.name) },
    { title: 'Started', cell: (e) => h('time', { datetime: e.started_at, title: 'UTC: ' + e.started_at }, relTime(e.started_at)) },
    { title: 'Elapsed', class: 'num nowrap', cell: (e) => [e.progress !== null && e.progress !== undefined ? e.progress + ' % · ' : '', durationCell(e, fetchedAt)] },
  ], items, 'Nothing is running.');
  const more = list.next ? h('p', {}, h('a', { href: '#/executions?status=running' }, 'All running executions')) : null;
  return [rows, more];
}

function instanceSummary(items) {
  const n = { alive: 0, dead: 0, stopped: 0 };
  for (const i of items) n[i.state] = (n[i.state] || 0) + 1;
  return [
    h('p', { class: 'inst-counts' },
      badge('alive', n.alive + ' alive'), ' ', badge('dead', n.dead + ' dead'), ' ', badge('stopped', n.stopped + ' stopped')),
    n.alive ? null : h('p', { class: 'error' }, 'No instance is alive: nothing is being scheduled.'),
    h('p', {}, h('a', { href: '#/instances' }, 'All instances')),
  ];
}
