// instances.js - the tablecron processes sharing the database (GET
// /instances): who is alive, how fresh each heartbeat is and how busy each
// scheduler is.  Refreshes every 5 s.

import { get } from '../api.js';
import { h, fill, timeEl, relTime, badge, pageHeader, showError } from '../ui.js';
import { runsTable as table } from './executions.js';

export async function render(ctx) {
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(pageHeader('Instances'), summary, body);

  let busy = false;
  const load = async () => {
    if (busy) return; // a slow answer must not pile up requests
    busy = true;
    try {
      const list = await get('/instances');
      if (ctx.stale()) return;
      fill(summary, countText(list.items));
      fill(body, instanceTable(list.items));
    } catch (e) {
      if (!ctx.stale()) showError(body, e);
    } finally {
      busy = false;
    }
  };
  await load();
  ctx.every(5000, load);
}

// "2 alive · 1 dead · 0 stopped".
export function countText(items) {
  const n = { alive: 0, dead: 0, stopped: 0 };
  for (const i of items) n[i.state] = (n[i.state] || 0) + 1;
  return `${n.alive} alive · ${n.dead} dead · ${n.stopped} stopped`;
}

function instanceTable(items) {
  return table([
    { title: 'ID', class: 'nowrap', cell: (i) => h('span', { class: 'mono' }, i.id) },
    { title: 'Host', cell: (i) => i.hostname },
    { title: 'PID', class: 'num', cell: (i) => String(i.pid) },
    { title: 'State', cell: (i) => badge(i.state) },
    { title: 'Heartbeat', cell: heartbeatCell },
    { title: 'Running', class: 'nowrap', cell: runningCell },
    { title: 'Version', cell: (i) => i.version },
    { title: 'Started', class: 'nowrap', cell: (i) => timeEl(i.started_at) },
    { title: 'API URL', cell: (i) => (i.api_url ? h('span', { class: 'mono' }, i.api_url) : h('span', { class: 'muted' }, 'API off')) },
  ], items, 'No instance has registered yet.');
}

// The heartbeat's age in words; the exact time on hover.
function heartbeatCell(i) {
  const text = ageText(i.heartbeat_age_s);
  const el = h('span', { title: 'Last heartbeat (UTC): ' + i.heartbeat_at }, text);
  if (i.stopped_at) {
    return h('span', {}, el, h('br'),
      h('span', { class: 'muted', title: 'Stopped (UTC): ' + i.stopped_at }, 'stopped ' + relTime(i.stopped_at)));
  }
  return el;
}

function ageText(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

// "3 / 16" with a small bar; max_running 0 means the scheduler is off there.
function runningCell(i) {
  if (!i.max_running) return h('span', { class: 'muted', title: 'max running is 0: this instance schedules nothing' }, 'scheduler off');
  const fillEl = h('span', { class: 'fill' });
  fillEl.style.width = Math.min(100, (100 * i.running) / i.max_running) + '%';
  return h('span', { class: 'load' }, i.running + ' / ' + i.max_running,
    h('span', { class: 'load-bar', 'aria-hidden': 'true' }, fillEl));
}
