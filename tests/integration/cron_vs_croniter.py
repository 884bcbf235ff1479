#!/usr/bin/env python3
"""cron_vs_croniter.py - tablecron's next fire times against croniter's (TAP).

Generates a few thousand random 5-field expressions from a fixed seed,
asks `tablecron cron next -` (batch mode: one process for all of them) for 5
next times after a random instant, in UTC and in America/New_York, and
compares them with python3-croniter, an independent and widely used
implementation.  Installs nothing: without python3-croniter the test fails
and says what to install.

Where tablecron differs from croniter on purpose (docs/schedules.md,
"Differences from other crons"), the expectation is adjusted here, in the
open, rather than the expression avoided:

  * Day of month and day of week: tablecron follows Vixie cron, where a day
    field whose text starts with '*' counts as unrestricted (so "*/2" with
    "MON" means odd days that are Mondays), and two restricted fields match
    when either matches ("1-31" with "MON" is every day).  croniter instead
    calls a field unrestricted when its expanded set is complete.  Here the
    expectation asks croniter for AND (day_or=False) when either field
    starts with '*', and for "every day" when neither does but one set is
    complete.
  * DST: croniter is given naive wall-clock times, and each of its local
    times is mapped to an instant by tablecron's documented rule (the first
    instant at which the wall clock shows that time or later: a gap fires
    once at its end, an overlap once at its first occurrence; repeated
    instants count once).  croniter's own time zone arithmetic is a
    different policy and is not what is compared.
  * Expressions that never fire ("0 0 30 2 *"): tablecron refuses them when
    parsing, croniter gives up after 50 years; both count as "never".

croniter 1.3.5 also has defects of its own (it can skip the first days of
a month after a day-of-month step such as "*/10", and a day of month that
never occurs makes it fail even when day of week would match).  So when the
two disagree, a brute-force referee written here (a day-by-day scan applying
the rules literally) decides: if it sides with tablecron the case is counted
and listed as a croniter defect, otherwise the test fails.  More than 1% of
such cases would fail the test too.
"""
import datetime as dt
import os
import random
import subprocess
import sys

SEED = 20260307
COUNT = int(os.environ.get("TC_CRONITER_COUNT", "3000"))
ZONES = ("UTC", "America/New_York")
NEXT = 5

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def bail(msg, skip):
    print("1..0 # SKIP " + skip)
    print("Bail out! " + msg)
    sys.exit(1)


try:
    from croniter import croniter, CroniterBadDateError
except ImportError:
    # python3-croniter is a Debian package: it is visible to the system
    # interpreter, which may not be the python3 first in PATH (pyenv, venv).
    system = "/usr/bin/python3"
    if os.path.exists(system) and not os.environ.get("TC_CRONITER_REEXEC") and \
            os.path.realpath(sys.executable) != os.path.realpath(system):
        os.environ["TC_CRONITER_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    bail("python3-croniter is missing: apt-get install python3-croniter",
         "python3-croniter not installed")
try:
    from zoneinfo import ZoneInfo
except ImportError:
    bail("python3 >= 3.9 (zoneinfo) is needed", "no zoneinfo module")

TABLECRON = os.environ.get("TABLECRON", "./tablecron")
if not os.access(TABLECRON, os.X_OK):
    bail("tablecron binary not found at %s (set TABLECRON)" % TABLECRON, "no tablecron binary")


# ---- random expressions -----------------------------------------------

def value(rng, v, names, base):
    if names and rng.random() < 0.3:
        name = names[(v - base) % len(names)]
        return rng.choice([name, name.lower(), name.capitalize()])
    return str(v)


def item(rng, lo, hi, names=None, base=0):
    k = rng.random()
    if k < 0.12:
        return "*/%d" % rng.randint(1, min(hi - lo + 1, 15))
    if k < 0.5:
        return value(rng, rng.randint(lo, hi), names, base)
    a = rng.randint(lo, hi)
    b = rng.randint(a, hi)
    if k < 0.75:
        return "%s-%s" % (value(rng, a, names, base), value(rng, b, names, base))
    if k < 0.9:
        return "%s-%s/%d" % (value(rng, a, names, base), value(rng, b, names, base),
                             rng.randint(1, max(1, b - a)))
    return "%s/%d" % (value(rng, a, names, base), rng.randint(1, hi - lo))


def field(rng, lo, hi, star, names=None, base=0):
    k = rng.random()
    if k < star:
        return "*"
    if k < star + 0.1:
        return "*/%d" % rng.randint(2, min(hi - lo, 12))
    n = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    return ",".join(item(rng, lo, hi, names, base) for _ in range(n))


def dow_field(rng):
    k = rng.random()
    if k < 0.08:  # "x-SUN" and "x-0": Sunday as the end of a range
        a = rng.randint(1, 6)
        return "%s-%s" % (value(rng, a, DAYS, 0), rng.choice(["SUN", "sun", "0"]))
    if k < 0.12:
        return "%d-7" % rng.randint(0, 6)
    return field(rng, 0, 7, 0.45, DAYS + ["SUN"], 0)


def random_expr(rng):
    return " ".join([
        field(rng, 0, 59, 0.2),
        field(rng, 0, 23, 0.35),
        field(rng, 1, 31, 0.5),
        field(rng, 1, 12, 0.6, MONTHS, 1),
        dow_field(rng),
    ])


def random_after(rng, zone):
    """An instant in 2000-2060; for the DST zone half of them close to a change."""
    if zone != "UTC" and rng.random() < 0.5:
        year = rng.randint(2000, 2060)
        # Second Sunday of March, first Sunday of November (US rules since 2007;
        # before, early April / last Sunday of October: close enough to be near).
        month = rng.choice([3, 11])
        day = 8 if month == 3 else 1
        base = dt.datetime(year, month, day, tzinfo=dt.timezone.utc)
        return int(base.timestamp()) + rng.randint(0, 7 * 86400)
    lo = int(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    hi = int(dt.datetime(2060, 1, 1, tzinfo=dt.timezone.utc).timestamp())
    return rng.randint(lo, hi)


# ---- the expectation, from croniter -------------------------------------

def expand(text, lo, hi, names, base):
    """The value set of one field, to tell a complete set (croniter's notion)."""
    out = set()
    for it in text.split(","):
        step = 1
        if "/" in it:
            it, s = it.split("/")
            step = int(s)
            open_end = True
        else:
            open_end = False

        def num(tok):
            if tok.isdigit():
                return int(tok)
            return names.index(tok.upper()[:3]) + base

        if it == "*":
            a, b = lo, hi
        elif "-" in it:
            x, y = it.split("-")
            a, b = num(x), num(y)
            if names is DAYS and b == 0 and a > 0:
                b = 7
        else:
            a = num(it)
            b = hi if open_end else a
        out.update(range(a, b + 1, step))
    return out


def croniter_expr(expr):
    """Rewrite for croniter so that it computes tablecron's day semantics."""
    f = expr.split()
    dom, dow = f[2], f[4]
    if dom.startswith("*") or dow.startswith("*"):
        return expr, False  # Vixie: AND
    dom_all = expand(dom, 1, 31, None, 1) >= set(range(1, 32))
    dow_all = {v % 7 for v in expand(dow, 0, 7, DAYS, 0)} >= set(range(7))
    if dom_all or dow_all:
        return " ".join(f[:2] + ["*", f[3], "*"]), True  # OR with a full set: every day
    return expr, True  # Vixie: OR


def wall(t, zone):
    return dt.datetime.fromtimestamp(t, zone).replace(tzinfo=None)


def first_instant(w, zone):
    """tablecron's rule: the first instant whose wall clock shows w or later."""
    found = []
    for fold in (0, 1):
        t = int(w.replace(tzinfo=zone, fold=fold).timestamp())
        if wall(t, zone) == w:
            found.append(t)
    if found:
        return min(found)
    lo = int(w.replace(tzinfo=zone, fold=1).timestamp())  # in a gap: before it ...
    hi = int(w.replace(tzinfo=zone, fold=0).timestamp())  # ... and after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(mid, zone) >= w:
            hi = mid
        else:
            lo = mid
    return hi


def expected(expr, zone_name, after):
    text, day_or = croniter_expr(expr)
    zone = ZoneInfo(zone_name)
    if zone_name == "UTC":
        start = wall(after, zone)
    else:
        # Wall times from a little before `after`: an overlap may hold local
        # times after wall(after) that already fired.
        start = wall(after, zone) - dt.timedelta(hours=3)
    it = croniter(text, start, day_or=day_or)
    out = []
    try:
        for _ in range(20000):
            w = it.get_next(dt.datetime)
            t = first_instant(w, zone)
            if t > after and (not out or t > out[-1]):
                out.append(t)
                if len(out) == NEXT:
                    break
    except CroniterBadDateError:
        pass
    return [dt.datetime.fromtimestamp(t, zone).isoformat() for t in out]


def referee(expr, zone_name, after, years=60):
    """The rules applied literally, one day at a time: slow, so only asked
    when tablecron and croniter disagree."""
    f = expr.split()
    mins = sorted(expand(f[0], 0, 59, None, 0))
    hours = sorted(expand(f[1], 0, 23, None, 0))
    doms = expand(f[2], 1, 31, None, 1)
    mons = expand(f[3], 1, 12, MONTHS, 1)
    dows = {v % 7 for v in expand(f[4], 0, 7, DAYS, 0)}
    both = f[2].startswith("*") or f[4].startswith("*")  # Vixie: then AND
    zone = ZoneInfo(zone_name)
    start = wall(after, zone) - dt.timedelta(hours=3)
    day = start.date()
    end = day.replace(year=min(day.year + years, 2199))
    out = []
    while len(out) < NEXT and day <= end:
        dm, wm = day.day in doms, day.isoweekday() % 7 in dows
        if day.month in mons and ((dm and wm) if both else (dm or wm)):
            for h in hours:
                for m in mins:
                    w = dt.datetime(day.year, day.month, day.day, h, m)
                    if w < start:
                        continue
                    t = first_instant(w, zone)
                    if t > after and (not out or t > out[-1]):
                        out.append(t)
                    if len(out) == NEXT:
                        break
                if len(out) == NEXT:
                    break
        day += dt.timedelta(days=1)
    return [dt.datetime.fromtimestamp(t, zone).isoformat() for t in out]


# ---- tablecron ------------------------------------------------------------

def tablecron_batch(zone, cases):
    lines = "".join("%s\t%s\n" % (
        dt.datetime.fromtimestamp(after, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), expr)
        for expr, after in cases)
    res = subprocess.run([TABLECRON, "cron", "next", "-", "--tz", zone, "--count", str(NEXT)],
                         input=lines, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        bail("tablecron cron next - failed (%d): %s" % (res.returncode, res.stderr.strip()),
             "tablecron failed")
    out = res.stdout.splitlines()
    if len(out) != len(cases):
        bail("tablecron printed %d lines for %d expressions" % (len(out), len(cases)),
             "tablecron output")
    return out


def main():
    rng = random.Random(SEED)
    exprs = [random_expr(rng) for _ in range(COUNT)]
    stats = {"star_and": 0, "full_or": 0, "never": 0}
    failed = 0
    for e in exprs:
        dom, dow = e.split()[2], e.split()[4]
        if (dom.startswith("*/") and not dow.startswith("*")) or \
                (dow.startswith("*/") and not dom.startswith("*")):
            stats["star_and"] += 1  # croniter alone would OR these
        elif croniter_expr(e)[0] != e:
            stats["full_or"] += 1  # croniter alone would AND these

    print("1..%d" % (len(ZONES) + 2))
    n = 0
    syntax_bad = []
    for zone in ZONES:
        cases = [(e, random_after(rng, zone)) for e in exprs]
        got = tablecron_batch(zone, cases)
        bad, defects = [], []
        agree = 0
        for (expr, after), line in zip(cases, got):
            want = expected(expr, zone, after)
            if line.startswith("error: "):
                if "never occurs" in line and not want:
                    stats["never"] += 1
                    agree += 1
                    continue
                if zone == ZONES[0]:
                    syntax_bad.append("%s: %s" % (expr, line))
                continue
            have = [] if line == "none" else line.split()
            if have == want:
                agree += 1
                continue
            ref = referee(expr, zone, after)
            (defects if ref == have else bad).append((expr, after, have, want, ref))
        n += 1
        what = "%d expressions x %d next times in %s" % (len(cases), NEXT, zone)
        if zone != "UTC":
            what += " (croniter's wall times mapped by the documented DST rule)"
        what += ": %d agree with croniter" % agree
        if defects:
            what += ", %d where croniter misses fire times the referee confirms" % len(defects)
        if bad or len(defects) * 100 > len(cases):
            failed += 1
            print("not ok %d - %s, %d differ from both croniter and the referee" % (
                n, what, len(bad)))
        else:
            print("ok %d - %s" % (n, what))
        for title, rows in (("tablecron differs", bad), ("croniter defect", defects)):
            for expr, after, have, want, ref in rows[:10]:
                a = dt.datetime.fromtimestamp(after, dt.timezone.utc).isoformat()
                print("#   %s: %-30s after %s" % (title, expr, a))
                print("#     tablecron: %s" % " ".join(have))
                print("#     croniter:  %s" % " ".join(want))
                if ref != have:
                    print("#     referee:   %s" % " ".join(ref))
    n += 1
    if syntax_bad:
        failed += 1
        print("not ok %d - tablecron rejects %d expressions croniter accepts" % (n, len(syntax_bad)))
        for s in syntax_bad[:10]:
            print("#   " + s)
    else:
        print("ok %d - tablecron accepts every expression croniter accepts" % n)
    n += 1
    if stats["star_and"] > 0 and stats["full_or"] > 0:
        print("ok %d - the intended differences were exercised: %d '*'-prefixed day fields "
              "(Vixie AND), %d complete day sets (Vixie OR), %d never-firing" % (
                  n, stats["star_and"], stats["full_or"], stats["never"]))
    else:
        failed += 1
        print("not ok %d - the generator no longer exercises the intended differences: %r" % (
            n, stats))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
