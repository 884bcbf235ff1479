# debian_package.sh - the Debian package, end to end: it builds from a copy
# of the source tree, lintian finds nothing, it installs, the installed
# binary (as the tablecron user, with the installed config file and nothing
# else) migrates the test database and runs an instance that serves the
# installed pages and runs a job, and removing then purging it leaves no
# file behind.
#
# It installs a package on the machine, so it needs root (as CI runs the
# suite) and leaves the machine as it found it: the EXIT trap purges the
# package and deletes the tablecron user if this test created them.  It
# refuses to run where tablecron is already installed (a developer's
# machine) rather than replace it.  Runs of this test in parallel suites
# wait for each other (a lock in /tmp); the other tests never use the
# installed binary.
#
# The build skips the unit tests (DEB_BUILD_OPTIONS=nocheck: the suite runs
# them already) and uses every core; it takes some 15-30 s on 2 cores.
. "$TC_SRCDIR/tests/lib.sh"
# The package is built here without sanitizers and never runs the build
# tree's binary: under --enable-sanitizers this test would only repeat the
# plain suite's run.
if [ "${TC_SANITIZERS:-no}" = yes ]; then
    echo "1..0 # SKIP the package test runs in the plain suite (it builds its own binary)"
    exit 0
fi
plan 51

[ "$(id -u)" = 0 ] || tc_bail "needs root: it installs and purges the tablecron package (CI runs the suite as root)"
tc_need_tools dpkg-buildpackage dh lintian apt-get dpkg-statoverride systemd-analyze systemctl \
    man setpriv flock curl psql adduser deluser
trap 'exit 130' INT TERM HUP

# One run at a time per machine: every suite on it runs this test.
exec 9>/tmp/tablecron-debian-package.lock
flock -w 900 9 || tc_bail "another run of debian_package.sh held its lock for 15 minutes"

status_of() { dpkg-query -W -f='${db:Status-Abbrev}' tablecron 2>/dev/null | tr -d ' '; }
case $(status_of) in
'' | un | pn) ;;
*) tc_bail "the tablecron package is installed here ($(status_of)); this test would replace and purge it: remove it first" ;;
esac
for p in /usr/bin/tablecron /etc/tablecron /usr/share/tablecron /var/lib/tablecron; do
    if [ -e "$p" ]; then
        tc_bail "$p exists (a make install with --prefix=/usr?); the package would overwrite it and purge would delete it"
    fi
done

# --- clean-up: whatever happened, no package and no user of ours remain ---
deb_installed=0
user_ours=0
group_ours=0
getent passwd tablecron >/dev/null || user_ours=1
getent group tablecron >/dev/null || group_ours=1
apt_quiet() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@" </dev/null
}
deb_cleanup() {
    if [ "$deb_installed" = 1 ] && status_of | grep -qv '^[up]n$'; then
        echo "# clean-up: purging the tablecron package"
        apt_quiet purge tablecron >/dev/null 2>&1 || dpkg --purge tablecron >/dev/null 2>&1 ||
            echo "# clean-up: could not purge tablecron: dpkg --purge tablecron by hand"
    fi
    if [ "$user_ours" = 1 ] && getent passwd tablecron >/dev/null; then
        deluser --system --quiet tablecron >/dev/null 2>&1
    fi
    if [ "$group_ours" = 1 ] && getent group tablecron >/dev/null; then
        delgroup --system --quiet tablecron >/dev/null 2>&1
    fi
}
# lib.sh's clean-up first: it stops the instances this test started.
trap 'tc_cleanup; deb_cleanup' EXIT

# === build ================================================================
# A copy of the sources without build directories (every directory holding
# a config.status, and distcheck's _build/_inst), local data or modules:
# in distcheck the tree is a read-only unpacked tarball.
[ -f "$TC_SRCDIR/config.status" ] &&
    tc_bail "$TC_SRCDIR is configured in place; build out of tree (scripts/check does)"
version=$("$TABLECRON" --version | sed -n 's/^tablecron //p')
[ -n "$version" ] || tc_bail "the build tree's tablecron --version says nothing"
src=$TC_TMP/pkg/tablecron-$version
excludes=(--exclude=./.git --exclude=./var --exclude=./_build --exclude=./_inst --exclude=./tests/node
    --exclude=autom4te.cache --exclude=node_modules --exclude=__pycache__ --exclude='*~')
while IFS= read -r cs; do
    d=${cs%/config.status}
    excludes+=("--exclude=./${d#"$TC_SRCDIR"/}")
done < <(find "$TC_SRCDIR" -maxdepth 3 -name config.status -not -path "$TC_SRCDIR/_build/*")
mkdir -p "$src"
tar -C "$TC_SRCDIR" -cf - "${excludes[@]}" . | tar -C "$src" -xf - ||
    tc_bail "could not copy $TC_SRCDIR"
chmod -R u+w "$src"

is "$(cd "$src" && dpkg-parsechangelog -S Version)" "$version" \
    "debian/changelog's version is configure.ac's ($version)"

# A clean environment: nothing of make check's (MAKEFLAGS, TESTS, PG*, ...).
build_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
    LANG=C.UTF-8 DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)")
t0=$(date +%s)
if (cd "$src" && "${build_env[@]}" dpkg-buildpackage -us -uc) >"$TC_TMP/build.log" 2>&1; then
    pass "dpkg-buildpackage -us -uc builds source and binary packages ($(($(date +%s) - t0)) s)"
else
    fail "dpkg-buildpackage -us -uc builds source and binary packages" \
        "$(grep -m 10 -E 'error|warning:' "$TC_TMP/build.log")" "..." "$(tail -n 8 "$TC_TMP/build.log")"
fi
arch=$(dpkg --print-architecture)
deb=$TC_TMP/pkg/tablecron_${version}_$arch.deb
changes=$TC_TMP/pkg/tablecron_${version}_$arch.changes
{ [ -f "$deb" ] && [ -f "$changes" ]; } || tc_bail "no $deb or $changes: $(ls "$TC_TMP/pkg")"

depends=$(dpkg-deb -f "$deb" Depends)
missing=
for lib in libpq5 libmicrohttpd12 libjansson4 libcurl4 adduser; do
    [[ ", $depends," =~ ,\ ${lib}[\ ,] ]] || missing="$missing $lib"
done
is "$missing" "" "Depends names libpq5, libmicrohttpd12, libjansson4, libcurl4 and adduser ($depends)"
like "$(dpkg-deb -f "$deb" Recommends)" '(^|, )postgresql(,|$)' "Recommends postgresql"

# Every migration, page and the sample config of the tree is in the package.
contents=$(dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|')
missing=
for f in /usr/bin/tablecron /usr/share/man/man8/tablecron.8.gz /lib/systemd/system/tablecron.service \
    /etc/tablecron/tablecron.conf /usr/share/doc/tablecron/copyright \
    /usr/share/doc/tablecron/examples/api-only.conf /usr/share/doc/tablecron/examples/worker-only.conf \
    $(cd "$TC_SRCDIR" && find migrations -name '*.sql' -printf '/usr/share/tablecron/%p\n') \
    $(cd "$TC_SRCDIR" && find www -type f -not -name '.*' -not -name '*~' -printf '/usr/share/tablecron/%p\n'); do
    printf '%s\n' "$contents" | grep -qxF "$f" || missing="$missing $f"
done
is "$missing" "" "the package holds the binary, man page, unit, config, examples, every migration and page"

# lintian over the .changes: the source package, the binary packages and
# the buildinfo, with the default profile.  Overrides (with their reasons)
# are in debian/*lintian-overrides; an overridden tag is not printed.
lintian_out=$(cd "$TC_TMP/pkg" && "${build_env[@]}" lintian "$changes" 2>"$TC_TMP/lintian.err")
lintian_rc=$?
if [ "$lintian_rc" = 0 ] && ! printf '%s\n' "$lintian_out" | grep -q '^[EW]:'; then
    pass "lintian reports no error and no warning"
else
    fail "lintian reports no error and no warning" "exit $lintian_rc" "$lintian_out" "$(cat "$TC_TMP/lintian.err")"
fi

# === install ==============================================================
# Paths and their type, mode and owner, before install and after purge;
# dpkg's and apt's own records (/var/lib/dpkg, /var/lib/apt) are expected
# to change and are left out.  /lib is /usr/lib on merged-/usr systems.
snapshot() {
    local d
    for d in /etc /usr /lib /var/lib; do
        [ -L "$d" ] && continue
        find "$d" -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt \) -prune \
            -o -printf '%y %m %u:%g %p\n'
    done | LC_ALL=C sort
}
snapshot >"$TC_TMP/before.txt"

# apt installs a local file the way operators do (README) and waits for
# the dpkg lock if another apt runs; it unpacks and configures with dpkg.
deb_installed=1
run_ok "apt-get install ./tablecron_${version}_$arch.deb installs it" \
    apt_quiet install --no-install-recommends "$deb"
is "$(status_of)" ii "dpkg reports it installed"
is "$(/usr/bin/tablecron --version)" "tablecron $version" "the installed tablecron --version says $version"
like "$(man -aw tablecron 2>&1)" '(^|[[:space:]])/usr/share/man/man8/tablecron\.8\.gz($|[[:space:]])' \
    "man finds the package's tablecron(8)"
man_out=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man tablecron 2>&1)
like "$(printf '%s\n' "$man_out" | sed -n '/^NAME/,/^SYNOPSIS/p' | tr -s ' \n' ' ')" \
    '^NAME tablecron - .*SYNOPSIS' "man tablecron renders the page"

conf=/etc/tablecron/tablecron.conf
is "$(stat -c '%a %U:%G' "$conf" 2>&1)" "640 root:tablecron" "$conf is 0640 root:tablecron"
is "$(dpkg-statoverride --list "$conf")" "root tablecron 640 $conf" "through a dpkg statoverride"
run_ok "it is the tree's sample config" cmp "$conf" "$TC_SRCDIR/etc/tablecron.conf"
like "$(dpkg-query -W -f='${Conffiles}' tablecron)" "^ $conf [0-9a-f]{32}$" "and the package's only conffile"

IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd tablecron)"
if [ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$(getent group tablecron | cut -d: -f3)" = "$gid" ]; then
    pass "a system user and group tablecron exist (uid $uid)"
else
    fail "a system user and group tablecron exist" "passwd: $(getent passwd tablecron)" \
        "group: $(getent group tablecron)"
fi
is "$home|$shell" "/var/lib/tablecron|/usr/sbin/nologin" "its home is /var/lib/tablecron, it has no login shell"
is "$(stat -c '%a %U:%G' "$home" 2>&1)" "750 tablecron:tablecron" "its home is 0750 and its own"

unit=/lib/systemd/system/tablecron.service
is "$(dpkg -S "$unit" 2>&1)" "tablecron: $unit" "the unit is installed as $unit"
verify_out=$(systemd-analyze verify "$unit" 2>&1)
verify_rc=$?
if [ "$verify_rc" = 0 ] && [ -z "$verify_out" ]; then
    pass "systemd-analyze verify accepts the installed unit (with its man page), no warning"
else
    fail "systemd-analyze verify accepts the installed unit, no warning" "exit $verify_rc" "$verify_out"
fi
is "$(systemctl is-enabled tablecron.service 2>&1)" disabled \
    "the unit is not enabled on install (the database is not configured yet)"

missing=
for f in /usr/share/tablecron/www/index.html /usr/share/tablecron/www/js/app.js \
    /usr/share/tablecron/migrations/0001_init.sql; do
    [ -f "$f" ] || missing="$missing $f"
done
is "$missing" "" "pages and migrations are under /usr/share/tablecron"

if "$TC_SRCDIR/debian/tests/smoke" >"$TC_TMP/smoke.log" 2>&1 9>&-; then
    pass "debian/tests/smoke (the autopkgtest) passes"
else
    fail "debian/tests/smoke (the autopkgtest) passes" "$(cat "$TC_TMP/smoke.log")"
fi

# === the installed binary on the test database ============================
# A role with a password (the reason the file is 0640): the test cluster
# trusts every local user, so password auth is switched on for this role
# only.  The socket directory becomes traversable for the tablecron user.
pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
q "CREATE ROLE tablecron LOGIN PASSWORD '$pw'; ALTER DATABASE $PGDATABASE OWNER TO tablecron" \
    >/dev/null || tc_bail "could not create the tablecron role"
pg_as sed -i '1i local all tablecron scram-sha-256' "$TC_PGDATA/pg_hba.conf" &&
    pg_as "$TC_PGBIN/pg_ctl" -D "$TC_PGDATA" reload >/dev/null || tc_bail "could not switch on password auth"
chmod 0711 "$TC_PGDIR"
cat >>"$conf" <<EOF

# Added by tests/integration/debian_package.sh
db = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=tablecron password=$pw
listen = 127.0.0.1:0
EOF
is "$(stat -c '%a %U:%G' "$conf")" "640 root:tablecron" "the edited config keeps its mode and owner"

# As systemd's User=tablecron would run it: the user's ids and groups, no
# PAM session, an environment holding nothing of ours (so neither PG* nor
# TABLECRON_*: the config file and the built-in paths alone).  setpriv
# execs, so the pid start_bg keeps is tablecron's own.
as_tc=(setpriv --reuid=tablecron --regid=tablecron --init-groups
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/tablecron USER=tablecron LOGNAME=tablecron)
tcd() { "${as_tc[@]}" /usr/bin/tablecron --config "$conf" "$@"; }

nopw=$("${as_tc[@]}" psql -X -w -d "host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=tablecron" -c 'SELECT 1' 2>&1)
like "$nopw" 'password' "the role needs its password (so the config file's db line is what connects)"

run_ok "tablecron migrate runs as the tablecron user with the installed config" tcd migrate
migrate_log=$TC_OUT
n_installed=$(find /usr/share/tablecron/migrations -name '*.sql' | wc -l)
is "$(q 'SELECT count(*) FROM schema_migrations')" "$n_installed" \
    "it applied the $n_installed migrations of /usr/share/tablecron/migrations"

start_bg "$TC_TMP/serve.log" "${as_tc[@]}" /usr/bin/tablecron --config "$conf" serve --instance-id debpkg 9>&-
serve_pid=$TC_BG_PID
if wait_until 20 grep -q 'msg=starting' "$TC_TMP/serve.log"; then
    pass "tablecron serve starts as the tablecron user"
else
    fail "tablecron serve starts as the tablecron user" "$(cat "$TC_TMP/serve.log")"
fi
is "$(ps -o user= -p "$serve_pid")" tablecron "the instance runs as tablecron"
url=$(tc_api_url "$TC_TMP/serve.log")
like "$(curl -fsS --max-time 10 "$url/healthz" 2>&1)" '"status": *"ok"' "GET /healthz answers ok"
like "$(curl -fsS --max-time 10 "$url/readyz" 2>&1)" '"status": *"ready"' \
    "GET /readyz: the database answers and the schema is the binary's"
curl -fsS --max-time 10 -o "$TC_TMP/index.html" "$url/" &&
    curl -fsS --max-time 10 -o "$TC_TMP/app.js" "$url/js/app.js"
if cmp -s "$TC_TMP/index.html" /usr/share/tablecron/www/index.html &&
    cmp -s "$TC_TMP/app.js" /usr/share/tablecron/www/js/app.js; then
    pass "the pages come from /usr/share/tablecron/www"
else
    fail "the pages come from /usr/share/tablecron/www" "$(head -c 300 "$TC_TMP/index.html")"
fi

# A shell job, made with the installed command line, run once now.
run_ok "tablecron job add (installed CLI, as tablecron)" \
    tcd job add debpkg --schedule '@every 1h' --shell 'echo "ran as $(id -un) in $HOME"'
run_ok "tablecron job run makes it due now" tcd job run debpkg
finished() { sql_is 1 "SELECT count(*) FROM executions e JOIN jobs j ON j.id = e.job_id
                       WHERE j.name = 'debpkg' AND e.status <> 'running'"; }
if wait_until 30 finished; then pass "the instance runs it"; else
    fail "the instance runs it" "$(tail -n 5 "$TC_TMP/serve.log")"
fi
is "$(q "SELECT e.status || '|' || trim(e.output, E'\n') || '|' || j.status
         FROM executions e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'debpkg'")" \
    "succeeded|ran as tablecron in /var/lib/tablecron|waiting" \
    "once, successfully, as tablecron with its home, and the job waits for its next hour"

# gone PID: exited (a zombie until `wait` reaps it).
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
kill -TERM "$serve_pid"
if wait_until 45 gone "$serve_pid"; then
    wait "$serve_pid"
    is "$?" 0 "SIGTERM stops the installed instance with exit 0"
else
    fail "SIGTERM stops the installed instance with exit 0" "still running after 45 s"
fi
is "$(q "SELECT stopped_at IS NOT NULL FROM instances WHERE id = 'debpkg'")" t "and it is marked stopped"
logs=$(cat "$TC_TMP/serve.log"; printf '%s\n' "$migrate_log")
if printf '%s' "$logs" | grep -qF "$pw"; then
    fail "the password appears in no log line" "$(printf '%s' "$logs" | grep -F "$pw")"
else
    pass "the password appears in no log line"
fi

# === remove, then purge ===================================================
files=$(dpkg -L tablecron | grep -v '^/\.$')
conffiles=$(dpkg-query -W -f='${Conffiles}' tablecron | awk '{ print $1 }')
# owned_elsewhere DIR: another package ships DIR too (/usr/bin, /lib/systemd/system,
# /lib itself, a link to usr/lib on merged-/usr systems).
owned_elsewhere() {
    dpkg-query -S "$1" 2>/dev/null | sed 's/: .*//' | tr -s ', ' '\n\n' | grep -v '^$' | grep -qvx tablecron
}
# leftovers [ALLOWED...]: the package's paths that still exist, but for the
# ALLOWED ones and directories another package owns too.
leftovers() {
    local p out="" allowed=" $* "
    while IFS= read -r p; do
        [ -e "$p" ] || [ -L "$p" ] || continue
        [[ $allowed == *" $p "* ]] && continue
        [ -d "$p" ] && owned_elsewhere "$p" && continue
        out="$out $p"
    done <<<"$files"
    echo "${out# }"
}

run_ok "apt-get remove tablecron" apt_quiet remove tablecron
is "$(status_of)" rc "the package is removed, its config kept"
# shellcheck disable=SC2086 # one argument per conffile
is "$(leftovers $conffiles /etc/tablecron)" "" "remove leaves only the conffile of the package's files"
if grep -q "^db = .*user=tablecron" "$conf" 2>/dev/null && [ "$(stat -c '%a %U:%G' "$conf")" = "640 root:tablecron" ]; then
    pass "the edited conffile is kept, still 0640 root:tablecron"
else
    fail "the edited conffile is kept, still 0640 root:tablecron" "$(ls -l "$conf" 2>&1)"
fi
if [ -d /var/lib/tablecron ]; then pass "remove keeps the tablecron user's home"; else
    fail "remove keeps the tablecron user's home"; fi

run_ok "apt-get purge tablecron" apt_quiet purge tablecron
like "[$(status_of)]" '^\[(|un|pn)\]$' "dpkg knows the package no more"
is "$(leftovers)" "" "purge leaves none of the package's files"
if [ ! -e /etc/tablecron ] && [ ! -e /var/lib/tablecron ]; then
    pass "/etc/tablecron and /var/lib/tablecron are gone"
else
    fail "/etc/tablecron and /var/lib/tablecron are gone" "$(ls -ld /etc/tablecron /var/lib/tablecron 2>&1)"
fi
is "$(dpkg-statoverride --list "$conf")" "" "and so is the statoverride"
if getent passwd tablecron >/dev/null; then pass "the system user is left, as Debian leaves system users"; else
    fail "the system user is left, as Debian leaves system users"; fi
snapshot >"$TC_TMP/after.txt"
diffs=$(diff "$TC_TMP/before.txt" "$TC_TMP/after.txt")
is "$diffs" "" "/etc, /usr and /var/lib hold the same paths, modes and owners as before the install"

done_testing
