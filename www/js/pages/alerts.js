// alerts.js - failure alerts: what was sent (or suppressed, or failed to
// send), the rules that decide it and the channels it goes to.
//
// Everyone sees the alerts, rules and channels of their departments;
// managers create, switch off and delete rules and channels, operators
// send a channel a test message (the API checks each call).  The list's
// filters live in the hash (#/alerts?job=12&status=failed&before=340) so a
// view can be linked; the API pages by id: `next` is the ?before= of the
// next page.  A webhook URL is shown whole to managers only (the API
// masks it for others: it may hold a secret).

import { get, post, patch, del } from '../api.js';
import { session } from '../session.js';
import {
  h, fill, timeEl, badge, toast, errorText, confirmDialog, field, select, pageHeader, table,
  showFormError, clearFormError, act,
} from '../ui.js';

const PAGE = 50;
const EVENTS = [
  ['failed', 'failed'], ['timed_out', 'timed out'], ['abandoned', 'abandoned'],
  ['misfired', 'missed a fire time'], ['no_success', 'no success for a while'],
];
const ALERT_EVENTS = ['failed', 'timed_out', 'abandoned', 'misfired', 'no_success', 'recovered', 'test'];
const STATUSES = ['sent', 'failed', 'suppressed', 'pending'];
const TEMPLATES = [['json', 'JSON (every detail)'], ['slack', 'Slack'], ['dingtalk', 'DingTalk'], ['feishu', 'Feishu']];
const FILTERS = ['department', 'job', 'status', 'event', 'before'];

export async function render(ctx) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, ctx.query.get(k) || '']));
  const alertsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const rulesBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const channelsBox = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const managed = session.managedDepartments();
  const state = { channels: [], onChannels: null };

  ctx.main.append(
    pageHeader('Alerts'),
    h('section', { 'aria-labelledby': 'alerts-sent' },
      h('h2', { id: 'alerts-sent' }, 'Recent alerts'), filterBar(ctx, filters), alertsBox),
    h('section', { 'aria-labelledby': 'alerts-rules' },
      h('h2', { id: 'alerts-rules' }, 'Rules'),
      h('p', { class: 'muted' }, 'A rule sends the events of one job, or of every job of a department, to a channel. ',
        'Repeats within its interval are recorded as suppressed and counted in the next alert; ',
        'a success after an alert sends a recovery message.'),
      rulesBox,
      managed.length ? ruleForm(state, reloadRules) : null),
    h('section', { 'aria-labelledby': 'alerts-channels' },
      h('h2', { id: 'alerts-channels' }, 'Channels'),
      channelsBox,
      managed.length ? channelForm(reloadChannels) : null));

  async function loadAlerts() {
    try {
      const data = await get('/alerts', { ...filters, limit: PAGE });
      if (ctx.stale()) return;
      fill(alertsBox, table(alertColumns(), data.items,
        filters.before ? 'No older alerts.' : 'No alert matches.'), pager(ctx, filters, data.next));
    } catch (e) {
      if (!ctx.stale()) fill(alertsBox, h('p', { class: 'error', role: 'alert' }, errorText(e)));
    }
  }
  async function reloadRules() {
    try {
      const data = await get('/alert-rules', { department: filters.department, job: filters.job });
      if (ctx.stale()) return;
      fill(rulesBox, table(ruleColumns(reloadRules), data.items, 'No rule yet: nothing is alerted.'));
    } catch (e) {
      if (!ctx.stale()) fill(rulesBox, h('p', { class: 'error', role: 'alert' }, errorText(e)));
    }
  }
  async function reloadChannels() {
    try {
      const data = await get('/alert-channels', { department: filters.department });
      if (ctx.stale()) return;
      state.channels = data.items;
      fill(channelsBox, table(channelColumns(reloadChannels, loadAlerts), data.items, 'No channel yet.'));
      if (state.onChannels) state.onChannels();
    } catch (e) {
      if (!ctx.stale()) fill(channelsBox, h('p', { class: 'error', role: 'alert' }, errorText(e)));
    }
  }
  await Promise.all([loadAlerts(), reloadRules(), reloadChannels()]);
  // New alerts show up on their own while the first page is on screen.
  if (!filters.before) ctx.every(5000, loadAlerts);
}

// --- the alerts list ---

function hashQuery(f) {
  const p = new URLSearchParams();
  for (const k of FILTERS) if (f[k]) p.set(k, f[k]);
  const s = p.toString();
  return s ? '?' + s : '';
}

function filterBar(ctx, filters) {
  const depts = session.me.departments;
  const dept = select({ name: 'department' },
    [['', 'All departments'], ...depts.map((d) => [String(d.id), d.name])], filters.department);
  const status = select({ name: 'status' }, [['', 'Any status'], ...STATUSES.map((s) => [s, s])], filters.status);
  const event = select({ name: 'event' }, [['', 'Any event'], ...ALERT_EVENTS.map((s) => [s, s])], filters.event);
  const apply = () => ctx.navigate('#/alerts' + hashQuery({
    ...filters, department: dept.value, status: status.value, event: event.value, before: '',
  }));
  for (const s of [dept, status, event]) s.addEventListener('change', apply);
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter the alerts' },
    field('Department', dept), field('Status', status), field('Event', event),
    filters.job ? h('div', { class: 'field' }, h('span', {}, 'Job #' + filters.job + ' only')) : null,
    FILTERS.some((k) => filters[k])
      ? h('div', { class: 'field' }, h('a', { class: 'button', href: '#/alerts' }, 'Clear filters')) : null);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  return form;
}

function pager(ctx, filters, next) {
  const newest = filters.before
    ? h('a', { class: 'button', href: '#/alerts' + hashQuery({ ...filters, before: '' }) }, 'Newest') : null;
  const older = next
    ? h('a', { class: 'button', href: '#/alerts' + hashQuery({ ...filters, before: next }) }, 'Older') : null;
  if (!newest && !older) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, newest, older);
}

function alertColumns() {
  return [
    { title: 'Time', cell: (a) => timeEl(a.created_at) },
    { title: 'Job', cell: (a) => (a.job ? h('a', { href: '#/jobs/' + a.job.id }, a.job.name) : h('span', { class: 'muted' }, '—')) },
    { title: 'Event', cell: (a) => badge(a.event === 'recovered' ? 'succeeded' : a.event, a.event.replace('_', ' ')) },
    { title: 'Status', cell: (a) => badge(a.status) },
    { title: 'Channel', cell: (a) => (a.channel ? a.channel.name + ' (' + a.channel.kind + ')' : h('span', { class: 'muted' }, 'deleted')) },
    { title: 'Message', cell: messageCell, class: 'alert-message' },
  ];
}

function messageCell(a) {
  const lines = [];
  if (a.execution_id) lines.push(h('a', { href: '#/executions/' + a.execution_id }, 'execution #' + a.execution_id));
  if (a.suppressed_count) lines.push(h('span', { class: 'muted' }, ' · ' + a.suppressed_count + ' suppressed before it'));
  return h('div', {},
    h('details', {}, h('summary', {}, a.subject), h('pre', { class: 'alert-text' }, a.message)),
    lines.length ? h('div', {}, lines) : null,
    a.error ? h('div', { class: 'error' }, a.error) : null);
}

// --- rules ---

function ruleColumns(reload) {
  return [
    { title: 'Applies to', cell: (r) => (r.job
      ? h('span', {}, 'job ', h('a', { href: '#/jobs/' + r.job.id }, r.job.name))
      : h('span', {}, 'every job of ', h('strong', {}, r.department.name))) },
    { title: 'Events', cell: (r) => r.events.map((e) => e === 'no_success' ? 'no success for ' + r.no_success_s + ' s' : e.replace('_', ' ')).join(', ') },
    { title: 'Channel', cell: (r) => r.channel.name + ' (' + r.channel.kind + ')' },
    { title: 'At most every', cell: (r) => (r.repeat_interval_s ? Math.round(r.repeat_interval_s / 60) + ' min' : 'no limit') },
    { title: 'Recovery', cell: (r) => (r.recovery ? 'yes' : 'no') },
    { title: 'State', cell: (r) => (r.enabled
      ? (r.open_incidents ? badge('failed', r.open_incidents + ' open') : badge('succeeded', 'on'))
      : badge('paused', 'off')) },
    { title: 'Actions', cell: (r) => ruleActions(r, reload) },
  ];
}

function ruleActions(r, reload) {
  if (!session.canManage(r.department.id)) return h('span', { class: 'muted' }, '—');
  const toggle = h('button', { type: 'button' }, r.enabled ? 'Switch off' : 'Switch on');
  toggle.addEventListener('click', async () => {
    if (await act(toggle, () => patch('/alert-rules/' + r.id, { enabled: !r.enabled }),
      'Rule ' + (r.enabled ? 'switched off.' : 'switched on.'))) await reload();
  });
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!(await confirmDialog('Delete this rule? Its alerts stay in the list.', 'Delete'))) return;
    if ((await act(remove, () => del('/alert-rules/' + r.id), 'Rule deleted.')) !== undefined) await reload();
  });
  return h('div', { class: 'actions' }, toggle, remove);
}

function ruleForm(state, reload) {
  const depts = session.managedDepartments();
  const dept = select({ name: 'department' }, depts.map((d) => [String(d.id), d.name]), depts[0] && depts[0].id);
  const job = select({ name: 'job' }, [['', 'Every job of the department']], '');
  const channel = select({ name: 'channel' }, [], '');
  const boxes = EVENTS.map(([v, t]) => h('input', { type: 'checkbox', name: 'events', value: v, checked: v === 'failed' || v === 'timed_out' }));
  const events = h('fieldset', { class: 'alert-events' }, h('legend', {}, 'Events'),
    EVENTS.map(([, t], i) => h('label', {}, boxes[i], ' ', t)));
  const noSuccess = h('input', { name: 'no_success_s', type: 'number', min: 1, value: 3600 });
  const noSuccessField = field('No success for (seconds)', noSuccess, 'Alert when no run succeeded for this long.');
  const repeat = h('input', { name: 'repeat', type: 'number', min: 0, value: 30 });
  const recovery = h('input', { type: 'checkbox', name: 'recovery', checked: true });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Create rule');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-rule-title', novalidate: true },
    h('h3', { id: 'new-rule-title', class: 'form-title' }, 'New rule'),
    h('div', { class: 'form-grid' },
      field('Department', dept), field('Job', job), field('Channel', channel),
      field('At most one alert per job every (minutes)', repeat, '0: every event is sent.'),
      noSuccessField,
      h('div', { class: 'field' }, h('label', {}, recovery, ' Send a recovery message when the job succeeds again'))),
    events, err, h('div', { class: 'actions' }, save));

  const noSuccessBox = boxes[EVENTS.findIndex(([v]) => v === 'no_success')];
  const showNoSuccess = () => { noSuccessField.hidden = !noSuccessBox.checked; };
  noSuccessBox.addEventListener('change', showNoSuccess);
  showNoSuccess();

  function fillChannels() {
    const mine = state.channels.filter((c) => String(c.department.id) === dept.value);
    fill(channel, mine.length ? mine.map((c) => h('option', { value: c.id }, c.name + ' (' + c.kind + ')'))
      : h('option', { value: '' }, 'No channel in this department yet'));
  }
  async function fillJobs() {
    fill(job, h('option', { value: '' }, 'Every job of the department'));
    if (!dept.value) return;
    try {
      const page = await get('/jobs', { department: dept.value, limit: 500 });
      job.append(...page.items.map((j) => h('option', { value: j.id }, j.name)));
    } catch (e) { /* the department-wide rule still works */ }
  }
  dept.addEventListener('change', () => { fillChannels(); fillJobs(); });
  state.onChannels = fillChannels; // the channel list (re)loaded
  fillJobs();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormError(err, [channel, noSuccess, repeat, events]);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!channel.value) { showFormError(err, channel, 'Make a channel first (below).'); return; }
    if (!chosen.length) { showFormError(err, boxes[0], 'Choose at least one event.'); return; }
    const body = {
      channel: Number(channel.value), events: chosen,
      repeat_interval_s: Math.round(Number(repeat.value || 0) * 60), recovery: recovery.checked,
    };
    if (job.value) body.job = Number(job.value); else body.department = Number(dept.value);
    if (chosen.includes('no_success')) body.no_success_s = Number(noSuccess.value);
    save.disabled = true;
    try {
      await post('/alert-rules', body);
      toast('Rule created.', 'ok');
      await reload();
    } catch (e2) {
      const at = { channel, no_success_s: noSuccess, repeat_interval_s: repeat, events: boxes[0] }[e2.field] || null;
      showFormError(err, at, errorText(e2));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

// --- channels ---

function channelColumns(reload, reloadAlerts) {
  return [
    { title: 'Name', cell: (c) => h('strong', {}, c.name) },
    { title: 'Department', cell: (c) => c.department.name },
    { title: 'Kind', cell: (c) => (c.kind === 'webhook' ? 'webhook, ' + c.template : 'email') },
    { title: 'Where', cell: (c) => h('span', { class: 'mono' }, c.kind === 'webhook' ? c.url : c.email_to) },
    { title: 'Rules', cell: (c) => String(c.rules) },
    { title: 'Actions', cell: (c) => channelActions(c, reload, reloadAlerts) },
  ];
}

function channelActions(c, reload, reloadAlerts) {
  const parts = [];
  if (session.canOperate(c.department.id)) {
    const test = h('button', { type: 'button' }, 'Send a test');
    test.addEventListener('click', async () => {
      if (await act(test, () => post('/alert-channels/' + c.id + '/test'), 'Test message queued.')) {
        setTimeout(reloadAlerts, 1500);
      }
    });
    parts.push(test);
  }
  if (session.canManage(c.department.id)) {
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!(await confirmDialog('Delete channel ' + c.name + '?', 'Delete'))) return;
      if ((await act(remove, () => del('/alert-channels/' + c.id), 'Channel deleted.')) !== undefined) await reload();
    });
    parts.push(remove);
  }
  return parts.length ? h('div', { class: 'actions' }, parts) : h('span', { class: 'muted' }, '—');
}

function channelForm(reload) {
  const depts = session.managedDepartments();
  const dept = select({ name: 'department' }, depts.map((d) => [String(d.id), d.name]), depts[0] && depts[0].id);
  const name = h('input', { name: 'name', required: true, maxlength: 63, autocomplete: 'off' });
  const kind = select({ name: 'kind' }, [['webhook', 'Webhook (HTTP POST)'], ['email', 'Email']], 'webhook');
  const url = h('input', { name: 'url', type: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://…' });
  const template = select({ name: 'template' }, TEMPLATES, 'json');
  const to = h('input', { name: 'email_to', autocomplete: 'off', spellcheck: 'false', placeholder: 'ops@example.com, oncall@example.com' });
  const from = h('input', { name: 'email_from', autocomplete: 'off', spellcheck: 'false' });
  const webhookFields = [field('URL', url, 'It may hold a secret token: only managers see it whole.'), field('Body', template)];
  const emailFields = [field('To', to, 'Addresses separated by commas.'), field('From', from, 'Empty: tablecron@ and the host name.')];
  const save = h('button', { type: 'submit', class: 'primary' }, 'Create channel');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-channel-title', novalidate: true },
    h('h3', { id: 'new-channel-title', class: 'form-title' }, 'New channel'),
    h('div', { class: 'form-grid' }, field('Department', dept), field('Name', name), field('Kind', kind),
      webhookFields, emailFields),
    err, h('div', { class: 'actions' }, save));
  const showKind = () => {
    for (const f of webhookFields) f.hidden = kind.value !== 'webhook';
    for (const f of emailFields) f.hidden = kind.value !== 'email';
  };
  kind.addEventListener('change', showKind);
  showKind();
  const inputs = { name, url, template, email_to: to, email_from: from, department: dept, kind };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormError(err, Object.values(inputs));
    if (!name.value.trim()) { showFormError(err, name, 'Give the channel a name.'); return; }
    const body = { name: name.value.trim(), department: Number(dept.value), kind: kind.value };
    if (kind.value === 'webhook') {
      body.url = url.value.trim();
      body.template = template.value;
    } else {
      body.email_to = to.value.trim();
      if (from.value.trim()) body.email_from = from.value.trim();
    }
    save.disabled = true;
    try {
      const c = await post('/alert-channels', body);
      toast('Channel ' + c.name + ' created.', 'ok');
      form.reset();
      showKind();
      await reload();
    } catch (e2) {
      showFormError(err, inputs[e2.field] || null, errorText(e2));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}
