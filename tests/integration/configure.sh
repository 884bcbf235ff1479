# configure.sh - configure names the Debian package of a missing library.
. "$TC_SRCDIR/tests/lib.sh"
plan 3

mkdir -p "$TC_TMP/build"
cd "$TC_TMP/build" || exit 1
# An empty pkg-config search path hides every library.
PKG_CONFIG_LIBDIR=$TC_TMP/empty PKG_CONFIG_PATH= "$TC_SRCDIR/configure" --quiet \
    >"$TC_TMP/out" 2>&1
status=$?
isnt_zero() { [ "$status" -ne 0 ]; }
if isnt_zero; then pass "configure fails without libpq"; else fail "configure fails without libpq"; fi
err=$(grep 'error:' "$TC_TMP/out")
like "$err" "install it with 'apt-get install libpq-dev'" "the error names the Debian package"
is "$(printf '%s\n' "$err" | wc -l)" 1 "the error is one line"

done_testing
