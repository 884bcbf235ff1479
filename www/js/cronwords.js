// cronwords.js - a schedule in plain English, for the job pages.
//
//   describeSchedule('*/15 * * * * *')  → 'every 15 seconds'
//   describeSchedule('0 9 * * MON')     → 'every Monday at 09:00'
//   describeSchedule('@every 1m')       → 'every 1 minute'
//
// The syntax is docs/schedules.md's.  The words must never be wrong, so
// anything this file cannot phrase exactly (mixed lists, day-of-month OR
// day-of-week, steps that do not divide the hour...) gives null and the page
// shows the expression alone.  Nor is it a validator: the API checks every
// schedule, and a string this file does not understand also gives null.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

// The fields of a cron expression: value range, and names (value = index + base).
const FIELDS = {
  second: { min: 0, max: 59 },
  minute: { min: 0, max: 59 },
  hour: { min: 0, max: 23 },
  dom: { min: 1, max: 31 },
  month: { min: 1, max: 12, names: MONTH_NAMES, base: 1 },
  dow: { min: 0, max: 7, names: DAY_NAMES, base: 0 },
  year: { min: 1970, max: 2199 },
};

const MACROS = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

// Thrown inside the parser when the words would not be exact; caught once.
class CannotSay extends Error {}
function cannot() { throw new CannotSay(); }

export function describeSchedule(expr) {
  if (typeof expr !== 'string') return null;
  const text = expr.trim();
  try {
    if (text.startsWith('@')) {
      const macro = MACROS[text.toLowerCase()];
      if (macro) return describeCron(macro);
      if (/^@every\s/i.test(text)) return describeEvery(text.replace(/^@every\s+/i, ''));
      if (/^@at\s/i.test(text)) return describeAt(text.replace(/^@at\s+/i, ''));
      return null;
    }
    return describeCron(text);
  } catch (e) {
    if (e instanceof CannotSay) return null;
    throw e;
  }
}

// --- small words ---

function plural(n, unit) { return n + ' ' + unit + (n === 1 ? '' : 's'); }
function pad(n) { return String(n).padStart(2, '0'); }
function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return n + 'th';
  return n + ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th');
}
// ['a', 'b', 'c'] → 'a, b and c'
function joinAnd(items) {
  if (items.length <= 1) return items.join('');
  return items.slice(0, -1).join(', ') + ' and ' + items[items.length - 1];
}
function clock(h, m, s, withSeconds) {
  return pad(h) + ':' + pad(m) + (withSeconds ? ':' + pad(s) : '');
}

// --- @every and @at ---

const UNIT_US = { d: 86400e6, h: 3600e6, m: 60e6, s: 1e6, ms: 1e3, us: 1 };
const UNIT_WORD = { d: 'day', h: 'hour', m: 'minute', s: 'second' };

function describeEvery(dur) {
  // Units largest first, each once, no blanks inside (docs/schedules.md).
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?(?:(\d+)us)?$/.exec(dur);
  if (!m || dur === '') return null;
  const units = ['d', 'h', 'm', 's', 'ms', 'us'];
  let total = 0;
  const parts = [];
  units.forEach((u, i) => {
    if (m[i + 1] === undefined) return;
    const n = Number(m[i + 1]);
    total += n * UNIT_US[u];
    if (n > 0) parts.push([n, u]);
  });
  if (total < 1e6 || total % 1e6 !== 0 || total > 36500 * 86400e6) return null;
  if (parts.some(([, u]) => u === 'ms' || u === 'us')) {
    // Written in small units: say it in whole seconds instead.
    return 'every ' + plural(total / 1e6, 'second');
  }
  return 'every ' + parts.map(([n, u]) => plural(n, UNIT_WORD[u])).join(' ');
}

function describeAt(ts) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(ts);
  if (!m) return null;
  const [, y, mo, d, hh, mm, ss, off] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +hh > 23 || +mm > 59 || (ss && +ss > 59)) return null;
  let zone = '';
  if (off) zone = /^z$/i.test(off) ? ' UTC' : ' UTC' + off;
  // Without an offset the time is in the job's zone, which the page shows.
  return 'once at ' + y + '-' + mo + '-' + d + ' ' + hh + ':' + mm + (ss && ss !== '00' ? ':' + ss : '') + zone;
}

// --- cron fields ---

// A number or (where the field has them) a three-letter name.
function value(tok, f) {
  if (/^\d{1,4}$/.test(tok)) {
    const n = Number(tok);
    if (n < f.min || n > f.max) cannot();
    return n;
  }
  if (f.names) {
    const i = f.names.indexOf(tok.toUpperCase());
    if (i >= 0) return i + f.base;
  }
  return cannot();
}

// The values of one list item without specials: *, v, a-b, with /n.
function itemValues(item, f, isDow) {
  const [base, stepText, extra] = item.split('/');
  if (extra !== undefined) cannot();
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText)) cannot();
    step = Number(stepText);
    if (step < 1 || step > f.max - f.min + 1) cannot();
  }
  let lo, hi;
  if (base === '*') {
    lo = f.min;
    // In day of week, * means 0-6 (7 is Sunday again).
    hi = isDow ? 6 : f.max;
  } else if (base.includes('-')) {
    const [a, b, more] = base.split('-');
    if (more !== undefined) cannot();
    lo = value(a, f);
    hi = value(b, f);
    // FRI-SUN: a range ending on Sunday counts it as 7.
    if (isDow && hi === 0 && lo > 0) hi = 7;
    if (hi < lo) cannot();
  } else {
    lo = value(base, f);
    hi = stepText !== undefined ? f.max : lo; // a/n runs to the field's end
  }
  const out = [];
  for (let v = lo; v <= hi; v += step) out.push(isDow && v === 7 ? 0 : v);
  return out;
}

// A field as a sorted list of its values.
function valuesOf(text, f, isDow) {
  const set = new Set();
  for (const item of text.split(',')) {
    if (item === '') cannot();
    for (const v of itemValues(item, f, isDow)) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

// A time field (second, minute, hour) as one of:
//   {any: true}              every value
//   {every: n, from: a}      every n-th value from a, evenly spaced all day
//   {values: [...]}          those values
function timeField(text, f) {
  const size = f.max - f.min + 1;
  if (text === '*') return { any: true };
  const step = /^(\*|\d+)\/(\d+)$/.exec(text);
  if (step) {
    const from = step[1] === '*' ? 0 : value(step[1], f);
    const n = Number(step[2]);
    if (n < 1 || n > size) cannot();
    if (n === 1 && from === 0) return { any: true };
    // Even spacing across the hour/day boundary only when n divides the
    // field and the start lies within the first step.
    if (n < size && size % n === 0 && from < n) return { every: n, from };
  }
  const values = valuesOf(text, f, false);
  if (values.length === size) return { any: true };
  return { values };
}

const isSingle = (t) => t.values && t.values.length === 1;
const isRepeat = (t) => t.any || t.every;

// "every 15 seconds", "every minute", "every 5 minutes starting at minute 3"
// (the start is left out when a from-to window follows and shows it).
function repeatWords(t, unit, windowed) {
  if (t.any) return 'every ' + unit;
  return 'every ' + t.every + ' ' + unit + 's' + (t.from && !windowed ? ', starting at ' + unit + ' ' + t.from : '');
}

// A contiguous run of values (9, 10, ... 17), or null.
function contiguous(values) {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1] + 1) return null;
  return { lo: values[0], hi: values[values.length - 1] };
}

// The last value of a repeating field: */15 minutes → 45.
function lastOf(t, max) {
  if (t.any) return max;
  return t.from + Math.floor((max - t.from) / t.every) * t.every;
}
function firstOf(t) { return t.any ? 0 : t.from; }

// The time of day: {fixed: ['09:00', ...]} (fire at those times on the
// chosen days) or {repeat: 'every 5 minutes ...'}.
function describeTime(sText, mText, hText) {
  const s = timeField(sText, FIELDS.second);
  const m = timeField(mText, FIELDS.minute);
  const h = timeField(hText, FIELDS.hour);

  // Fixed times: a short list of HH:MM(:SS).
  if (s.values && m.values && h.values) {
    const withSec = s.values.some((v) => v !== 0);
    if (s.values.length * m.values.length * h.values.length <= 6) {
      const times = [];
      for (const hh of h.values) for (const mm of m.values) for (const ss of s.values) times.push(clock(hh, mm, ss, withSec));
      return { fixed: times };
    }
    // Once an hour over a run of hours: "every hour from 09:30 to 17:30".
    const run = contiguous(h.values);
    if (isSingle(m) && isSingle(s) && run) {
      const [mm, ss] = [m.values[0], s.values[0]];
      return { repeat: 'every hour from ' + clock(run.lo, mm, ss, withSec) + ' to ' + clock(run.hi, mm, ss, withSec) };
    }
    return cannot();
  }

  // Seconds repeat; minutes and hours are open (or hours a run).
  if (isRepeat(s)) {
    if (!m.any) return cannot();
    const words = repeatWords(s, 'second', !h.any);
    if (h.any) return { repeat: words };
    const run = h.values && contiguous(h.values);
    if (!run) return cannot();
    return { repeat: words + ' from ' + clock(run.lo, 0, firstOf(s), true) + ' to ' + clock(run.hi, 59, lastOf(s, 59), true) };
  }

  // Seconds are a single value from here on.
  if (!isSingle(s)) return cannot();
  const sec = s.values[0];
  const atSec = sec ? ' at second ' + sec : '';

  if (isRepeat(m)) {
    const words = repeatWords(m, 'minute', !h.any) + atSec;
    if (h.any) return { repeat: words };
    const run = h.values && contiguous(h.values);
    if (!run) return cannot();
    return { repeat: words + ' from ' + clock(run.lo, firstOf(m), sec, !!sec) + ' to ' + clock(run.hi, lastOf(m, 59), sec, !!sec) };
  }

  // Minutes are a list of values: once or a few times an hour.
  if (h.any) {
    if (m.values.length === 1 && m.values[0] === 0) return { repeat: 'every hour' + atSec };
    if (m.values.length > 6) return cannot();
    const word = m.values.length === 1 ? 'minute ' : 'minutes ';
    return { repeat: 'at ' + word + joinAnd(m.values.map(String)) + (sec ? ', second ' + sec : '') + ' of every hour' };
  }
  if (h.every) {
    if (!isSingle(m)) return cannot();
    const min = m.values[0];
    let words = 'every ' + h.every + ' hours';
    if (h.from) words += ' starting at ' + clock(h.from, min, sec, !!sec);
    else if (min || sec) words += ' at minute ' + min + atSec;
    return { repeat: words };
  }
  return cannot();
}

// The months as words to follow "of" / "in": null when every month.
function monthWords(text) {
  if (text === '*') return null;
  const values = valuesOf(text, FIELDS.month, false);
  if (values.length === 12) return null;
  const run = contiguous(values);
  if (run && values.length > 2) return { list: false, words: MONTHS[run.lo - 1] + ' to ' + MONTHS[run.hi - 1] };
  return { list: true, words: joinAnd(values.map((v) => MONTHS[v - 1])), count: values.length };
}

function yearWords(text) {
  if (text === undefined || text === '*') return '';
  const values = valuesOf(text, FIELDS.year, false);
  const run = contiguous(values);
  if (run && values.length > 2) return ' in ' + run.lo + ' to ' + run.hi;
  if (values.length > 6) return cannot();
  return ' in ' + joinAnd(values.map(String));
}

// Day of month restricted (day of week open): "on the 1st of every month".
function domWords(text, months) {
  let day;
  let on = 'on ';
  let m;
  if (text === 'L' || text === 'L-0') day = 'the last day';
  else if (text === 'LW') day = 'the last weekday';
  else if ((m = /^L-(\d+)$/.exec(text))) {
    const n = Number(m[1]);
    if (n > 30) cannot();
    day = plural(n, 'day') + ' before the last day';
    on = ''; // '3 days before the last day of every month', not 'on 3 days ...'
  } else if ((m = /^(\d+)W$/.exec(text))) {
    day = 'the weekday nearest the ' + ordinal(value(m[1], FIELDS.dom));
  } else if (/[LW#?]/i.test(text)) {
    return cannot();
  } else {
    if (text.includes('/')) cannot(); // steps over days: left to the expression
    const values = valuesOf(text, FIELDS.dom, false);
    const run = contiguous(values);
    if (run && values.length > 2) day = 'days ' + run.lo + ' to ' + run.hi;
    else if (values.length <= 6) day = 'the ' + joinAnd(values.map(ordinal));
    else cannot();
  }
  if (!months) return on + day + ' of every month';
  if (months.list) return on + day + ' of ' + months.words;
  return on + day + ' of every month from ' + months.words;
}

// Day of week restricted (day of month open): "every Monday".
function dowWords(text, months) {
  const inMonths = months ? (months.list ? ' in ' + months.words : ' from ' + months.words) : '';
  const ofMonths = months ? (months.list ? ' of ' + months.words : ' of every month from ' + months.words) : ' of every month';
  let m;
  if ((m = /^([A-Za-z]{3}|\d)L$/.exec(text))) {
    return 'on the last ' + DAYS[value(m[1], FIELDS.dow) % 7] + ofMonths;
  }
  if ((m = /^([A-Za-z]{3}|\d)#([1-5])$/.exec(text))) {
    const nth = ['first', 'second', 'third', 'fourth', 'fifth'][Number(m[2]) - 1];
    return 'on the ' + nth + ' ' + DAYS[value(m[1], FIELDS.dow) % 7] + ofMonths;
  }
  if (/[LW#?]/i.test(text.replace(/[A-Za-z]{3}/g, (n) => (DAY_NAMES.includes(n.toUpperCase()) ? '' : n)))) {
    return cannot();
  }
  const values = valuesOf(text, FIELDS.dow, true);
  if (values.length === 7) return months ? 'every day' + inMonths : null;
  // Monday to Friday as a run (Sunday counted as 7 so FRI-SUN is a run).
  const ordered = values.map((v) => (v === 0 && values.includes(6) && !values.includes(1) ? 7 : v)).sort((a, b) => a - b);
  const run = contiguous(ordered);
  if (run && ordered.length > 2) {
    return 'every day from ' + DAYS[run.lo % 7] + ' to ' + DAYS[run.hi % 7] + inMonths;
  }
  return 'every ' + joinAnd(ordered.map((v) => DAYS[v % 7])) + inMonths;
}

// The days: "every day", "every Monday", "on the 1st of every month"...
function describeDays(domText, monText, dowText) {
  const months = monthWords(monText);
  const openDom = domText === '*' || domText === '?';
  const openDow = dowText === '*' || dowText === '?';
  // Vixie cron: a day field starting with * counts as open, and then a day
  // must match both fields; else either is enough.  Only the plain cases
  // are phrased: "*/2" in a day field, or both fields restricted, are not.
  if (domText.startsWith('*') && !openDom) return cannot();
  if (openDom && openDow) {
    if (!months) return 'every day';
    return months.list ? 'every day in ' + months.words : 'every day from ' + months.words;
  }
  if (openDom) return dowWords(dowText, months) || 'every day';
  if (openDow || dowText.startsWith('*')) {
    if (!openDow) return cannot(); // "1 * */2": the 1st, when it is an even weekday
    // A single day in a single month reads better as a date.
    if (months && months.count === 1 && /^\d+$/.test(domText)) {
      return 'every year on ' + months.words + ' ' + value(domText, FIELDS.dom);
    }
    return domWords(domText, months);
  }
  return cannot();
}

function describeCron(text) {
  const parts = text.split(/[ \t]+/);
  let sec = '0';
  let year;
  let rest;
  if (parts.length === 5) rest = parts;
  else if (parts.length === 6) [sec, ...rest] = parts;
  else if (parts.length === 7) { [sec, ...rest] = parts; year = rest.pop(); }
  else return null;
  const [min, hour, dom, mon, dow] = rest;
  for (const t of [sec, min, hour, mon, year]) {
    if (t !== undefined && /[?LW#]/i.test(t.replace(/[A-Za-z]{3}/g, ''))) return null;
  }
  const time = describeTime(sec, min, hour);
  const days = describeDays(dom, mon, dow);
  const years = yearWords(year);
  if (time.fixed) return days + ' at ' + joinAnd(time.fixed) + years;
  if (days === 'every day') return time.repeat + years;
  return time.repeat + ', ' + days + years;
}
