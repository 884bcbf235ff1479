// ui.js - small helpers every page shares: building DOM without HTML
// strings (so nothing from the API is ever parsed as markup), times,
// durations, status badges, feedback and confirmation.

// h('a', {href: '#/jobs', class: 'x'}, 'text', child...): an element.
// Attributes starting with "on" are listeners; null/false attributes and
// null/undefined/false children are skipped; arrays of children are flattened.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replace an element's content.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// --- times ---

const localFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit',
});

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return isNaN(d) ? iso : localFmt.format(d);
}

// The time in another zone (the job's), for hovers and schedule previews.
export function fmtTimeIn(iso, zone) {
  if (!iso) return '—';
  try {
    return new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit',
      minute: '2-digit', second: '2-digit', timeZone: zone, timeZoneName: 'short',
    }).format(new Date(iso));
  } catch (e) {
    return iso;
  }
}

// <time> in the browser's zone; hovering shows it in `zone` (the job's) and UTC.
export function timeEl(iso, zone) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const title = (zone ? 'In ' + zone + ': ' + fmtTimeIn(iso, zone) + '\n' : '') + 'UTC: ' + iso;
  return h('time', { datetime: iso, title }, fmtTime(iso));
}

// "3 min ago" / "in 20 s".
export function relTime(iso, now) {
  if (!iso) return '';
  const s = Math.round((new Date(iso) - (now || Date.now())) / 1000);
  const a = Math.abs(s);
  const t = a < 60 ? a + ' s' : a < 3600 ? Math.round(a / 60) + ' min'
    : a < 86400 ? Math.round(a / 3600) + ' h' : Math.round(a / 86400) + ' d';
  return s < 0 ? t + ' ago' : 'in ' + t;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return ms + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

// --- statuses ---

// A status word in its colour; a running one also gets the pulsing dot.
export function badge(status, text) {
  return h('span', { class: 'badge st-' + (status || 'none') },
    status === 'running' ? h('span', { class: 'running-dot', 'aria-hidden': 'true' }) : null,
    text || status || 'none');
}

// --- feedback ---

// A message in the corner for a few seconds; kind: 'ok' or 'error'.
export function toast(message, kind) {
  const box = document.getElementById('toasts');
  const t = h('div', { class: 'toast ' + (kind || 'ok'), role: kind === 'error' ? 'alert' : null }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

// The words of an error thrown by api.js (or anything else).
export function errorText(err) {
  if (!err) return 'Something went wrong.';
  let text = err.message || String(err);
  if (err.status === 403) text = 'Not allowed: ' + text;
  return text;
}

// A visible error box that replaces `el`'s content.
export function showError(el, err) {
  fill(el, h('p', { class: 'error', role: 'alert' }, errorText(err)));
}

// Run an action from a button: disable it while it runs, then toast the
// outcome (`done` gives the message) or the API's error.  Returns the
// action's result, or undefined when it failed.
export async function act(button, fn, done) {
  if (button) button.disabled = true;
  try {
    const result = await fn();
    const msg = typeof done === 'function' ? done(result) : done;
    if (msg) toast(msg, 'ok');
    return result;
  } catch (e) {
    toast(errorText(e), 'error');
    return undefined;
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
}

// A modal question; resolves true when confirmed.
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: 'danger' }, confirmLabel || 'Confirm');
    const no = h('button', { type: 'button' }, 'Cancel');
    const dlg = h('dialog', { class: 'confirm', 'aria-label': 'Confirm' },
      h('p', {}, message), h('div', { class: 'actions' }, no, yes));
    const close = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    yes.addEventListener('click', () => close(true));
    no.addEventListener('click', () => close(false));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(false); });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

// --- forms ---

// A labelled field: field('Name', input) → <div class="field"><label for>…
let fieldSeq = 0;
export function field(label, control, hint) {
  if (!control.id) control.id = 'f' + (++fieldSeq);
  const hintEl = hint ? h('div', { class: 'hint', id: control.id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

// A form's error in words in `box` (an alert element near its button),
// marking the field at fault (if any) and moving the focus there.
export function showFormError(box, input, text) {
  box.textContent = text;
  box.hidden = false;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

export function clearFormError(box, inputs) {
  box.hidden = true;
  for (const i of inputs) i.removeAttribute('aria-invalid');
}

// <select> from [[value, text], ...] with `selected` chosen.
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([v, t]) =>
    h('option', { value: v, selected: String(v) === String(selected ?? '') }, t)));
}

// --- page furniture ---

// The page's heading (and the window title).
export function pageHeader(title, ...actions) {
  document.title = title + ' · tablecron';
  return h('div', { class: 'page-head' }, h('h1', {}, title),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

// A table: columns [{title, cell: row => node|text, class}], rows.
export function table(columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted empty' }, empty || 'Nothing here yet.');
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) =>
      h('td', { class: c.class, 'data-label': c.title }, c.cell(r))))))));
}
