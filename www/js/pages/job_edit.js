// job_edit.js - the job editor: #/jobs/new creates a job (POST /jobs),
// #/jobs/ID/edit changes one (PATCH /jobs/ID with the version it read and
// only the fields that changed).
//
// The schedule is checked while typing through GET /cron/next, which also
// gives the next 5 fire times in the chosen zone.  The task fields depend on
// the kind; only the chosen kind's fields are in the page (so "URL" and
// "Method" name one control each), the others keep their values aside.
// Config keys are sent only when set (docs/tasks.md, src/job_config.c).
// Errors found here and errors from the API are shown next to their field
// and summed up in the alert above the buttons.

import { get, post, patch, ApiError } from '../api.js';
import { session } from '../session.js';
import { h, fill, fmtTime, fmtTimeIn, toast, errorText, field, select, pageHeader } from '../ui.js';
import { describeSchedule } from '../cronwords.js';
import { DepsEditor } from './workflow.js';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}$/;
const NAME_RULE = 'Use letters, digits and . _ : - (starting with a letter, digit or _), at most 128 characters.';
const GRPC_METHOD_RE = /^\/?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/;
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const KIND_TITLES = { shell: 'Shell command', http: 'HTTP request', grpc: 'gRPC call', noop: 'Nothing (noop)' };
// What an absent config key means (src/job_config.c), so that an edit
// does not send a key only because the form spells out its default.
const CONFIG_DEFAULTS = {
  shell: {},
  http: { method: 'GET', expect_status: '2xx', follow_redirects: false, tls_verify: true },
  grpc: { tls_verify: true, message_base64: '' },
  noop: {},
};
// Numbers of the job itself: [body key, label, min, max, default].
const NUMBERS = [
  ['timeout_s', 'Timeout (s)', 1, 604800, 3600],
  ['max_retries', 'Retries', 0, 100, 0],
  ['retry_backoff_s', 'Retry backoff (s)', 0, 86400, 10],
  ['shards', 'Shards', 1, 1000, 1],
];

let seq = 0;
const uid = (p) => 'je-' + p + '-' + (++seq);

export async function render(ctx) {
  const id = ctx.params[0] || null;
  const job = id ? await get('/jobs/' + id) : null;
  if (ctx.stale()) return;
  const title = job ? 'Edit ' + job.name : 'New job';

  const depts = session.managedDepartments();
  if (job ? !session.canManage(job.department.id) : depts.length === 0) {
    ctx.main.append(pageHeader(title), h('p', {}, job
      ? 'Only a manager of department ' + job.department.name + ' can change this job. '
      : 'You manage no department, so you cannot create jobs. ',
    h('a', { href: job ? '#/jobs/' + job.id : '#/jobs' }, job ? 'Back to the job.' : 'Back to the jobs.')));
    return;
  }
  new Editor(ctx, job, depts).mount(title);
}

class Editor {
  constructor(ctx, job, depts) {
    this.ctx = ctx;
    this.job = job;
    this.depts = depts;
    this.errors = new Map(); // control → its error element
    this.checkSeq = 0;
    this.checkTimer = null;
    this.build();
  }

  // --- building the form ---

  build() {
    const j = this.job || {};
    const c = {};
    this.c = c;
    c.name = h('input', { type: 'text', value: j.name || '', maxlength: 128, autocomplete: 'off', spellcheck: 'false', required: true });
    c.department = select({ required: true },
      [...(this.job ? [] : [['', 'Choose…']]), ...this.depts.map((d) => [String(d.id), d.name])],
      this.job ? this.job.department.id : (this.depts.length === 1 ? this.depts[0].id : ''));
    c.description = h('textarea', { rows: 2, class: 'plain' }, j.description || '');
    c.kind = select({}, [['shell', 'shell: run a command'], ['http', 'http: make a request'], ['grpc', 'grpc: make a unary call'],
      ['noop', 'noop: do nothing, succeed at once']], j.kind || 'shell');
    c.schedule = h('input', {
      type: 'text', value: j.schedule || '', autocomplete: 'off', spellcheck: 'false',
      class: 'mono', placeholder: '*/5 * * * *', required: true,
    });
    c.timezone = h('input', { type: 'text', value: j.timezone || 'UTC', list: 'tz-list', autocomplete: 'off', spellcheck: 'false' });
    for (const [key, , min, max, def] of NUMBERS) {
      c[key] = h('input', { type: 'number', min, max, step: 1, inputmode: 'numeric', placeholder: String(def),
        value: this.job ? String(this.job[key]) : '' });
    }
    c.misfire_policy = select({}, [['skip', 'skip (default)'], ['once', 'once']], j.misfire_policy || 'skip');
    if (!this.job) c.paused = h('input', { type: 'checkbox' });

    // The fields of every kind, filled from the job's config for its kind.
    this.tasks = {};
    for (const kind of ['shell', 'http', 'grpc', 'noop']) {
      this.tasks[kind] = TASKS[kind](this, j.kind === kind ? (j.config || {}) : {});
    }
    this.taskBox = h('div');

    // Schedule feedback (ids are the contract with the browser tests).
    this.schedWords = h('p', { class: 'schedule-summary', id: 'schedule-words', 'aria-live': 'polite' });
    this.schedError = h('div', { id: 'schedule-error', role: 'alert', class: 'schedule-error', hidden: true });
    this.preview = h('div', { id: 'schedule-preview', class: 'schedule-preview', hidden: true });

    this.deps = new DepsEditor(this.job, c.schedule); // "Runs after" (workflow.js)
    this.alert = h('div', { role: 'alert', class: 'form-alert', id: 'form-error', hidden: true });
    this.submit = h('button', { type: 'submit', class: 'primary' }, this.job ? 'Save changes' : 'Create job');
  }

  // A labelled field with room for its error under it.
  slot(label, control, hint) {
    const wrap = field(label, control, hint);
    const err = h('div', { class: 'error field-error', id: control.id + '-error', hidden: true });
    this.errors.set(control, err);
    wrap.append(err);
    return wrap;
  }

  // A checkbox with its label after it.
  check(label, control, hint) {
    control.id = control.id || uid('cb');
    const hintEl = hint ? h('div', { class: 'hint', id: control.id + '-hint' }, hint) : null;
    if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
    return h('div', { class: 'field check-field' },
      h('div', { class: 'field check' }, control, h('label', { for: control.id }, label)), hintEl);
  }

  mount(title) {
    const c = this.c;
    const j = this.job;
    let zones = [];
    try { zones = Intl.supportedValuesOf('timeZone'); } catch (e) { zones = []; }
    if (!zones.includes('UTC')) zones = ['UTC', ...zones];

    const form = h('form', { class: 'job-form', novalidate: true },
      h('fieldset', {}, h('legend', {}, 'Job'),
        h('div', { class: 'form-grid' },
          this.slot('Name', c.name, 'Letters, digits and . _ : -'),
          this.slot('Department', c.department, j ? 'Move it only to a department you manage.' : 'Departments you manage.'),
          this.slot('Kind', c.kind)),
        this.slot('Description', c.description)),
      h('fieldset', {}, h('legend', {}, 'Schedule'),
        h('div', { class: 'form-grid schedule-grid' },
          this.slot('Schedule', c.schedule,
            'Cron: minute hour day month weekday (6 fields: seconds first; 7: year last), or @daily, @every 10m, @at 2027-01-01T09:00.'),
          this.slot('Time zone', c.timezone, 'An IANA name such as Europe/Paris; default UTC.')),
        h('datalist', { id: 'tz-list' }, zones.map((z) => h('option', { value: z }))),
        this.schedWords, this.schedError, this.preview),
      this.taskBox,
      h('fieldset', {}, h('legend', {}, 'Runs'),
        h('div', { class: 'form-grid' },
          NUMBERS.map(([key, label, min, max]) => this.slot(label, c[key],
            key === 'timeout_s' ? 'From 1 to 604800; default 3600.'
              : key === 'max_retries' ? 'Extra attempts after a failure, 0 to 100; default 0.'
                : key === 'shards' ? 'Executions per fire time, 1 to 1000, each told its TABLECRON_SHARD_INDEX; default 1.'
                  : 'Wait between attempts, 0 to 86400; default 10.')),
          this.slot('Misfire policy', c.misfire_policy, 'Fire times missed while no instance ran: skip drops them, once runs one catch-up.')),
        c.paused ? this.check('Start paused', c.paused, 'The job is created but not scheduled until it is resumed.') : null),
      this.deps.fieldset,
      this.alert,
      h('div', { class: 'actions' }, this.submit,
        h('a', { class: 'button', href: j ? '#/jobs/' + j.id : '#/jobs' }, 'Cancel')));

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.save();
    });
    c.kind.addEventListener('change', () => this.showKind());
    const later = () => this.scheduleChanged();
    c.schedule.addEventListener('input', later);
    c.timezone.addEventListener('input', later);
    c.timezone.addEventListener('change', later);
    // Editing a field clears its error, and the alert once none is left.
    form.addEventListener('input', (e) => {
      this.clearError(e.target);
      if (!this.alert.hidden && !form.querySelector('[aria-invalid="true"]') && !this.alert.querySelector('button')) this.hideAlert();
    });

    this.showKind();
    this.ctx.main.append(pageHeader(title), form);
    this.ctx.onLeave(() => clearTimeout(this.checkTimer));
    if (c.schedule.value.trim()) this.checkSchedule();
    if (!j) c.name.focus();
  }

  showKind() {
    const kind = this.c.kind.value;
    const t = this.tasks[kind];
    fill(this.taskBox, h('fieldset', {}, h('legend', {}, KIND_TITLES[kind]), t.box));
  }

  // --- errors ---

  setError(control, ...message) {
    const err = this.errors.get(control);
    control.setAttribute('aria-invalid', 'true');
    if (!err) return;
    fill(err, ...message);
    err.hidden = false;
    const ids = new Set((control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    ids.add(err.id);
    control.setAttribute('aria-describedby', [...ids].join(' '));
  }

  clearError(control) {
    if (!control || !control.hasAttribute || !control.hasAttribute('aria-invalid')) return;
    if (control === this.c.schedule || control === this.c.timezone) return; // the live check decides
    this.unmark(control);
  }

  unmark(control) {
    control.removeAttribute('aria-invalid');
    const err = this.errors.get(control);
    if (!err) return;
    err.hidden = true;
    fill(err);
    const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== err.id);
    if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
    else control.removeAttribute('aria-describedby');
  }

  showAlert(...content) {
    fill(this.alert, ...content);
    this.alert.hidden = false;
  }

  hideAlert() {
    this.alert.hidden = true;
    fill(this.alert);
  }

  // --- the live schedule check ---

  scheduleChanged() {
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => this.checkSchedule(), 300);
  }

  async checkSchedule() {
    const my = ++this.checkSeq;
    const expr = this.c.schedule.value.trim();
    const tz = this.c.timezone.value.trim() || 'UTC';
    if (!expr) {
      this.scheduleOk();
      this.preview.hidden = true;
      return;
    }
    try {
      const r = await get('/cron/next', { expr, tz, count: 5 });
      if (my !== this.checkSeq || this.ctx.stale()) return;
      this.scheduleOk();
      this.showPreview(r.next, tz, expr);
    } catch (e) {
      if (my !== this.checkSeq || this.ctx.stale()) return;
      this.preview.hidden = true;
      fill(this.schedWords);
      if (e instanceof ApiError && (e.code === 'bad_timezone' || e.field === 'tz')) {
        this.hideScheduleError();
        this.setError(this.c.timezone, ...positioned(e.message, tz, e.position));
      } else if (e instanceof ApiError && e.code === 'bad_schedule') {
        this.unmark(this.c.timezone);
        this.showScheduleError(e.message, expr, e.position);
      } else {
        // The server could not check it (network...): say so, mark nothing.
        this.schedError.hidden = false;
        fill(this.schedError, h('p', {}, 'The schedule could not be checked: ' + errorText(e)));
      }
    }
  }

  scheduleOk() {
    this.hideScheduleError();
    this.unmark(this.c.timezone);
  }

  hideScheduleError() {
    this.c.schedule.removeAttribute('aria-invalid');
    this.c.schedule.setAttribute('aria-describedby', this.c.schedule.id + '-hint');
    this.schedError.hidden = true;
    fill(this.schedError);
  }

  showScheduleError(message, expr, position) {
    this.c.schedule.setAttribute('aria-invalid', 'true');
    this.c.schedule.setAttribute('aria-describedby', this.c.schedule.id + '-hint schedule-error');
    fill(this.schedError, ...positioned(message, expr, position));
    this.schedError.hidden = false;
  }

  showPreview(times, tz, expr) {
    const words = describeSchedule(expr);
    fill(this.schedWords, words ? 'Runs ' + words + (tz !== 'UTC' && !/^@every/i.test(expr) ? ' (' + tz + ')' : '') + '.' : '');
    this.preview.hidden = false;
    if (!times.length) {
      fill(this.preview, h('p', { class: 'muted' }, 'This schedule does not fire again.'));
      return;
    }
    // @every counts from now here; a stored job keeps its own grid (its
    // previous fire time) as long as its schedule stays the same.
    const keepsGrid = this.job && /^@every\s/i.test(expr) && expr === this.job.schedule;
    fill(this.preview,
      h('p', { class: 'preview-title' }, 'Next ' + times.length + ' fire times in ' + tz + ':'),
      keepsGrid ? h('p', { class: 'muted' }, 'Counted from now; the job itself keeps its current rhythm (see its page) while the schedule stays the same.') : null,
      h('ol', {}, times.map((t) => h('li', {},
        h('time', { datetime: t, title: 'Your time: ' + fmtTime(t) }, fmtTimeIn(t, tz))))));
  }

  // --- reading the form ---

  // The job's own fields as the API takes them, or null after marking errors.
  read(problems) {
    const c = this.c;
    const v = {
      name: c.name.value.trim(),
      department: c.department.value ? Number(c.department.value) : null,
      description: c.description.value,
      kind: c.kind.value,
      schedule: c.schedule.value.trim(),
      timezone: c.timezone.value.trim() || 'UTC',
      misfire_policy: c.misfire_policy.value,
    };
    if (!v.name) problems.push([c.name, 'Give the job a name.']);
    else if (!NAME_RE.test(v.name)) problems.push([c.name, NAME_RULE]);
    if (!v.department) problems.push([c.department, 'Choose a department.']);
    if (!v.schedule) problems.push([c.schedule, 'Give a schedule, e.g. */5 * * * * or @every 10m.']);
    for (const [key, label, min, max] of NUMBERS) {
      const text = c[key].value.trim();
      if (text === '') {
        // New job: the API's default.  Edit: a value is needed.
        if (this.job) problems.push([c[key], label.replace(/ \(s\)$/, '') + ' is needed (from ' + min + ' to ' + max + ').']);
        continue;
      }
      const n = Number(text);
      if (!Number.isInteger(n) || n < min || n > max) {
        problems.push([c[key], label.replace(/ \(s\)$/, '') + ' must be a whole number from ' + min + ' to ' + max + '.']);
      } else {
        v[key] = n;
      }
    }
    v.config = this.tasks[v.kind].read(problems);
    return v;
  }

  async save() {
    for (const control of this.errors.keys()) {
      if (control !== this.c.schedule && control !== this.c.timezone) this.unmark(control);
    }
    this.hideAlert();
    const problems = [];
    const v = this.read(problems);
    if (problems.length) {
      for (const [control, msg] of problems) {
        if (control === this.c.schedule) this.showScheduleError(msg, '', null);
        else this.setError(control, msg);
      }
      this.showAlert(problems.length === 1 ? 'Not saved: ' + problems[0][1] : 'Not saved: please correct the ' + problems.length + ' marked fields.');
      problems[0][0].focus();
      return;
    }
    let body;
    if (this.job) {
      body = this.changes(v);
      if (!body && !this.deps.changed()) {
        toast('Nothing to save: no field was changed.', 'ok');
        this.ctx.navigate('#/jobs/' + this.job.id);
        return;
      }
    } else {
      body = { name: v.name, department: v.department, kind: v.kind, schedule: v.schedule, timezone: v.timezone, config: v.config };
      if (v.description.trim()) body.description = v.description;
      for (const [key] of NUMBERS) if (v[key] !== undefined) body[key] = v[key];
      if (v.misfire_policy !== 'skip') body.misfire_policy = v.misfire_policy;
      if (this.c.paused.checked) body.paused = true;
    }
    this.submit.disabled = true;
    try {
      const saved = this.job ? (body ? await this.patchJob(body) : this.job) : await post('/jobs', body);
      if (!(await this.deps.save(saved.id, !this.job, this.ctx)) || this.ctx.stale()) return;
      toast(this.job ? 'Changes to ' + saved.name + ' saved.' : 'Job ' + saved.name + ' created.', 'ok');
      this.ctx.navigate('#/jobs/' + saved.id);
    } catch (e) {
      if (!this.ctx.stale()) this.apiError(e, v);
    } finally {
      if (this.submit.isConnected) this.submit.disabled = false;
    }
  }

  // The version moves with every run too (each claim bumps it), so a job
  // that runs often would almost always answer version_conflict.  What the
  // user's edit rests on is the definition: when only the state moved, the
  // change is sent again with the new version; when the definition moved,
  // the conflict is the user's to resolve.
  async patchJob(body) {
    for (let tries = 0; ; tries++) {
      try {
        return await patch('/jobs/' + this.job.id, body);
      } catch (e) {
        if (!(e instanceof ApiError) || e.code !== 'version_conflict' || tries >= 3) throw e;
        const fresh = await get('/jobs/' + this.job.id);
        if (!sameDefinition(fresh, this.job)) throw e;
        body.version = fresh.version;
      }
    }
  }

  // PATCH body: the version read and only what differs from it; null if nothing.
  changes(v) {
    const j = this.job;
    const body = {};
    for (const key of ['name', 'description', 'schedule', 'timezone', 'misfire_policy', ...NUMBERS.map((n) => n[0])]) {
      if (v[key] !== undefined && v[key] !== j[key]) body[key] = v[key];
    }
    if (v.department !== j.department.id) body.department = v.department;
    if (v.kind !== j.kind) {
      // A new kind replaces the whole config.
      body.kind = v.kind;
      body.config = v.config;
    } else {
      const diff = configChanges(j.config || {}, v.config, CONFIG_DEFAULTS[v.kind]);
      if (diff) body.config = diff;
    }
    if (!Object.keys(body).length) return null;
    body.version = j.version;
    return body;
  }

  // The API refused: say why next to the field it names, and above the button.
  apiError(e, v) {
    if (e instanceof ApiError && e.code === 'version_conflict') {
      const reload = h('button', { type: 'button' }, 'Reload the job');
      reload.addEventListener('click', () => this.ctx.navigate(location.hash));
      this.showAlert(h('p', {}, 'Not saved: someone else changed this job\'s definition since you opened it. ',
        'Reload it to see the current version; your changes here will be lost.'), reload);
      reload.focus();
      return;
    }
    const control = e instanceof ApiError ? this.controlFor(e.field, v.kind) : null;
    if (control === this.c.schedule) {
      this.showScheduleError(e.message, v.schedule, e.position);
    } else if (control) {
      const value = control === this.c.timezone ? v.timezone : null;
      this.setError(control, ...(value !== null ? positioned(e.message, value, e.position) : [e.message]));
    }
    this.showAlert('Not saved: ' + errorText(e));
    if (control) control.focus();
    else this.alert.scrollIntoView({ block: 'nearest' });
  }

  // The control for an API error's field: "name", "timeout_s", "config.url",
  // "config.headers.X-Api-Key"...
  controlFor(name, kind) {
    if (!name) return null;
    const top = { expr: 'schedule', tz: 'timezone', paused: 'paused' };
    const key = top[name] || name;
    if (this.c[key]) return this.c[key];
    if (name.startsWith('config.')) {
      const t = this.tasks[kind];
      return t.byKey[name.split('.')[1]] || null;
    }
    return null;
  }
}

// Whether two readings of a job have the same definition (not state).
function sameDefinition(a, b) {
  const keys = ['name', 'description', 'kind', 'schedule', 'timezone', 'timeout_s', 'max_retries',
    'retry_backoff_s', 'misfire_policy', 'shards'];
  return keys.every((k) => a[k] === b[k]) && a.department.id === b.department.id &&
    canonical(a.config || {}) === canonical(b.config || {});
}

// An error message with the spot it names marked: the text, a caret under
// the character at `position` (a byte offset) and the words "position N".
function positioned(message, text, position) {
  if (position === null || position === undefined || position < 0 || !text) return [h('p', {}, message)];
  const col = charIndex(text, position);
  const shown = text.replace(/\t/g, ' ');
  return [
    h('p', {}, message),
    h('pre', { class: 'caret', 'aria-hidden': 'true' }, shown + '\n' + ' '.repeat(col) + '^'),
    h('p', { class: 'muted' }, 'The problem is at position ' + position + ' (counting from 0): ',
      col < text.length ? h('code', {}, text.slice(col, col + 12)) : 'the end'),
  ];
}

// The API counts bytes (UTF-8); the caret needs characters.
function charIndex(text, bytePos) {
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    if (bytes >= bytePos) return i;
    bytes += new TextEncoder().encode(ch).length;
    i += ch.length;
  }
  return i;
}

// --- config: reading "Name: value" lines and comparing configs ---

// Lines "name<sep>value" into an object; problems name the line.
function readPairs(text, sep, check, control, problems, example) {
  const out = {};
  let count = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    const at = line.indexOf(sep);
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!name) {
      problems.push([control, 'Line ' + (i + 1) + ': write ' + example + '.']);
      return;
    }
    const why = check(name);
    if (why) problems.push([control, 'Line ' + (i + 1) + ': ' + why]);
    else if (Object.prototype.hasOwnProperty.call(out, name)) problems.push([control, 'Line ' + (i + 1) + ': ' + name + ' is given twice.']);
    out[name] = sep === '=' ? line.slice(at + 1) : line.slice(at + 1).trim();
    count++;
  });
  return count ? out : null;
}

const pairsText = (o, sep) => (o && typeof o === 'object' ? Object.entries(o).map(([k, v]) => k + sep + v).join('\n') : '');

function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

// expect_status 200 and [200] mean the same; "2XX" and "2xx" too.
function sameExpect(a, b) {
  const norm = (x) => (typeof x === 'string' ? x.toLowerCase() : canonical((Array.isArray(x) ? x : [x]).slice().sort()));
  return norm(a) === norm(b);
}

// The keys to set (or null to remove) to turn `old` into `neu`; null if none.
function configChanges(old, neu, defaults) {
  const diff = {};
  for (const key of new Set([...Object.keys(old), ...Object.keys(neu)])) {
    const a = old[key] !== undefined ? old[key] : defaults[key];
    const b = neu[key] !== undefined ? neu[key] : defaults[key];
    const same = key === 'expect_status' && a !== undefined && b !== undefined ? sameExpect(a, b) : canonical(a) === canonical(b);
    if (same) continue;
    diff[key] = neu[key] !== undefined ? neu[key] : null;
  }
  return Object.keys(diff).length ? diff : null;
}

// --- the kinds' fields ---

// Each returns {box (the fields), byKey (config key → control), read(problems) → config}.

function outputLimitField(ed, cfg, byKey, hint) {
  const input = h('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric', placeholder: '65536',
    value: cfg.output_limit !== undefined ? String(cfg.output_limit) : '' });
  byKey.output_limit = input;
  return [ed.slot('Output kept (bytes)', input, hint), input];
}

function readOutputLimit(input, config, problems) {
  const text = input.value.trim();
  if (!text) return;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) problems.push([input, 'Output kept must be a whole number of bytes, from 1.']);
  else config.output_limit = n;
}

function readPath(input, key, label, config, problems) {
  const text = input.value.trim();
  if (!text) return;
  if (!text.startsWith('/')) problems.push([input, label + ' must be an absolute path (starting with /).']);
  else config[key] = text;
}

function readUrl(input, config, problems) {
  const url = input.value.trim();
  if (!url) problems.push([input, 'Give the URL, starting with http:// or https://.']);
  else if (!/^https?:\/\/[^\s]/i.test(url)) problems.push([input, 'The URL must start with http:// or https://.']);
  else config.url = url;
}

const TASKS = {
  shell(ed, cfg) {
    const command = h('textarea', { rows: 3, spellcheck: 'false' }, cfg.command || '');
    const cwd = h('input', { type: 'text', value: cfg.cwd || '', spellcheck: 'false', placeholder: '/srv/app' });
    const env = h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'PGUSER=backup' }, pairsText(cfg.env, '='));
    const byKey = { command, cwd, env };
    const [limitField, limit] = outputLimitField(ed, cfg, byKey, 'The last bytes of stdout and stderr kept; default 65536.');
    const box = h('div', {},
      ed.slot('Command', command, 'Run by /bin/sh -c on the instance that runs the job.'),
      h('div', { class: 'form-grid' },
        ed.slot('Working directory', cwd, 'An absolute path; default: the instance\'s.'),
        limitField),
      ed.slot('Environment', env, 'Extra variables, one NAME=value per line.'));
    return {
      box, byKey,
      read(problems) {
        const config = {};
        if (!command.value.trim()) problems.push([command, 'Give the command to run.']);
        else config.command = command.value;
        readPath(cwd, 'cwd', 'The working directory', config, problems);
        const vars = readPairs(env.value, '=', (n) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? null : n + ' is not a valid variable name.'),
          env, problems, 'NAME=value');
        if (vars) config.env = vars;
        readOutputLimit(limit, config, problems);
        return config;
      },
    };
  },

  http(ed, cfg) {
    const url = h('input', { type: 'text', inputmode: 'url', value: cfg.url || '', spellcheck: 'false', placeholder: 'https://example.internal/api/run' });
    const methods = [...HTTP_METHODS];
    if (cfg.method && !methods.includes(cfg.method)) methods.push(cfg.method);
    const method = select({}, methods.map((m) => [m, m]), cfg.method || 'GET');
    const headers = h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'Authorization: Bearer …' }, pairsText(cfg.headers, ': '));
    const isJson = cfg.json !== undefined;
    const body = h('textarea', { rows: 3, spellcheck: 'false' },
      isJson ? JSON.stringify(cfg.json, null, 2) : (cfg.body || ''));
    const json = h('input', { type: 'checkbox', checked: isJson });
    const expect = h('input', { type: 'text', spellcheck: 'false', placeholder: '2xx',
      value: cfg.expect_status === undefined ? '' : (Array.isArray(cfg.expect_status) ? cfg.expect_status.join(', ') : String(cfg.expect_status)) });
    const follow = h('input', { type: 'checkbox', checked: cfg.follow_redirects === true });
    const insecure = h('input', { type: 'checkbox', checked: cfg.tls_verify === false });
    const ca = h('input', { type: 'text', value: cfg.ca_file || '', spellcheck: 'false', placeholder: '/etc/ssl/internal-ca.pem' });
    const byKey = { url, method, headers, body, json: body, expect_status: expect, follow_redirects: follow,
      tls_verify: insecure, ca_file: ca };
    const [limitField, limit] = outputLimitField(ed, cfg, byKey, 'The last bytes of the response body kept; default 65536.');
    const box = h('div', {},
      h('div', { class: 'form-grid' },
        h('div', { class: 'span-2' }, ed.slot('URL', url, 'http:// or https://')),
        ed.slot('Method', method)),
      ed.slot('Headers', headers, 'One Name: value per line.'),
      ed.slot('Body', body, 'Sent as is; empty: no body.'),
      // Not labelled "JSON body": the label "Body" must name one control.
      ed.check('Send as JSON', json, 'The text above must be valid JSON; it is sent with Content-Type: application/json.'),
      h('div', { class: 'form-grid' },
        ed.slot('Expect status', expect, '2xx (default), a status such as 200, or a list: 200, 204'),
        ed.slot('CA file', ca, 'PEM file of the CAs to trust instead of the system\'s.'),
        limitField),
      ed.check('Follow redirects', follow, 'Off: a 3xx answer is the result.'),
      ed.check('Insecure TLS (accept any certificate)', insecure));
    return {
      box, byKey,
      read(problems) {
        const config = {};
        readUrl(url, config, problems);
        config.method = method.value;
        const hdrs = readPairs(headers.value, ':', (n) => (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n) ? null : n + ' is not a valid header name.'),
          headers, problems, 'Name: value');
        if (hdrs) config.headers = hdrs;
        if (json.checked) {
          if (!body.value.trim()) {
            problems.push([body, 'Give the JSON to send, or untick "Send as JSON".']);
          } else {
            try { config.json = JSON.parse(body.value); } catch (e) { problems.push([body, 'The body is not valid JSON: ' + e.message]); }
          }
        } else if (body.value !== '') {
          config.body = body.value;
        }
        const ex = expect.value.trim();
        if (ex) {
          if (/^[1-5]xx$/i.test(ex)) config.expect_status = ex.toLowerCase();
          else if (/^\d{3}(\s*,\s*\d{3})*$/.test(ex)) {
            const codes = ex.split(',').map((s) => Number(s.trim()));
            if (codes.some((n) => n < 100 || n > 599)) problems.push([expect, 'Statuses run from 100 to 599.']);
            else config.expect_status = codes.length === 1 ? codes[0] : codes;
          } else {
            problems.push([expect, 'Write a class such as 2xx, a status such as 200, or a list such as 200, 204.']);
          }
        }
        if (follow.checked) config.follow_redirects = true;
        if (insecure.checked) config.tls_verify = false;
        readPath(ca, 'ca_file', 'The CA file', config, problems);
        readOutputLimit(limit, config, problems);
        return config;
      },
    };
  },

  grpc(ed, cfg) {
    const url = h('input', { type: 'text', inputmode: 'url', value: cfg.url || '', spellcheck: 'false', placeholder: 'http://127.0.0.1:50051' });
    const method = h('input', { type: 'text', value: cfg.method || '', spellcheck: 'false', placeholder: 'package.Service/Method' });
    const metadata = h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'authorization: Bearer …' }, pairsText(cfg.metadata, ': '));
    const message = h('input', { type: 'text', value: cfg.message_base64 || '', spellcheck: 'false', class: 'mono' });
    const insecure = h('input', { type: 'checkbox', checked: cfg.tls_verify === false });
    const ca = h('input', { type: 'text', value: cfg.ca_file || '', spellcheck: 'false', placeholder: '/etc/ssl/internal-ca.pem' });
    const byKey = { url, method, metadata, message_base64: message, tls_verify: insecure, ca_file: ca };
    const [limitField, limit] = outputLimitField(ed, cfg, byKey, 'Bytes of the reply message kept; default 65536.');
    const box = h('div', {},
      h('div', { class: 'form-grid' },
        ed.slot('URL', url, 'The server: http://host:port (cleartext HTTP/2) or https://host:port.'),
        ed.slot('Method', method, 'package.Service/Method')),
      ed.slot('Metadata', metadata, 'One name: value per line; keys ending in -bin take base64.'),
      ed.slot('Message (base64)', message, 'The request as protobuf bytes in base64; empty: the empty message.'),
      h('div', { class: 'form-grid' },
        ed.slot('CA file', ca, 'PEM file of the CAs to trust instead of the system\'s.'),
        limitField),
      ed.check('Insecure TLS (accept any certificate)', insecure));
    return {
      box, byKey,
      read(problems) {
        const config = {};
        readUrl(url, config, problems);
        const m = method.value.trim();
        if (!m) problems.push([method, 'Give the method, as package.Service/Method.']);
        else if (!GRPC_METHOD_RE.test(m)) problems.push([method, 'Write the method as package.Service/Method.']);
        else config.method = m;
        const md = readPairs(metadata.value, ':', (n) => (/^[0-9A-Za-z_.-]+$/.test(n) ? null : n + ' is not a valid key (use 0-9 a-z _ . -).'),
          metadata, problems, 'name: value');
        if (md) config.metadata = md;
        const msg = message.value.trim();
        if (msg) config.message_base64 = msg;
        if (insecure.checked) config.tls_verify = false;
        readPath(ca, 'ca_file', 'The CA file', config, problems);
        readOutputLimit(limit, config, problems);
        return config;
      },
    };
  },

  // Nothing to set: the config is {} (src/job_config.c refuses any key).
  noop() {
    const box = h('p', { class: 'hint' },
      'Each run does nothing and succeeds at once, with no output: a way to try a deployment ' +
      '(claims, leases, history) or to measure the scheduler alone.');
    return { box, byKey: {}, read() { return {}; } };
  },
};
