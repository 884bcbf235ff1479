#!/bin/sh
# run_fuzz.sh NAME SOURCES [LIBS] - fuzz one parser for a bounded time (TAP).
#
# NAME is a target tests/fuzz/NAME.c with its corpus in tests/fuzz/corpus_*
# (NAME without "fuzz_"); SOURCES are the modules it tests, relative to
# src/; LIBS what they link.  The run_fuzz_*.sh scripts name them.
#
# With clang and libFuzzer (clang + libclang-rt-dev on Debian) it builds
# the target with -fsanitize=fuzzer,address,undefined and runs it for
# TC_FUZZ_SECONDS (default 20) seconds from the corpus; any crash, hang
# (5 s per input), leak or memory blow-up fails the test and the reproducer
# is printed.  Without libFuzzer it replays the corpus through fuzz_main.c
# built with the C compiler.
#
# The source tree may be read-only (make distcheck): everything built or
# discovered goes to a temporary directory, removed at the end.
set -u

name=$1
srcdir=${TC_SRCDIR:-${srcdir:-.}}
secs=${TC_FUZZ_SECONDS:-20}
clang=${CLANG:-clang}
cc=${CC:-cc}
src=$srcdir/src
fz=$srcdir/tests/fuzz
corpus=$fz/corpus_${name#fuzz_}
sources="$fz/$name.c"
for f in $2; do sources="$sources $src/$f"; done
libs=${3:-}
# autoconfig.h is in the build directory.
incs="-I$src -I${TC_BUILDDIR:-.}"

work=$(mktemp -d "${TMPDIR:-/tmp}/tcfuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

echo "1..1"

if [ ! -d "$corpus" ]; then
    echo "not ok 1 - $name: corpus $corpus not found (set TC_SRCDIR)"
    exit 1
fi

have_libfuzzer() {
    command -v "$clang" >/dev/null 2>&1 || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
        >"$work/probe.c"
    "$clang" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1
}

if have_libfuzzer; then
    # shellcheck disable=SC2086
    if ! "$clang" -g -O1 -std=gnu11 -Wall -Wextra -fno-omit-frame-pointer \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            $incs $sources $libs -o "$work/$name" >"$work/build.log" 2>&1; then
        echo "not ok 1 - $name: the fuzzer did not build"
        sed 's/^/# /' "$work/build.log"
        exit 1
    fi
    mkdir "$work/corpus" "$work/artifacts"
    # New inputs go to the first (temporary) directory; the source corpus
    # is only read.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$work/$name" -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
        -max_len=512 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" "$corpus" >"$work/fuzz.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
    found=$(ls "$work/corpus" | wc -l)
    if [ "$status" -eq 0 ]; then
        echo "ok 1 - $name: ${runs:-?} inputs in ${secs}s, $found new corpus entries," \
            "no crash, hang or leak (libFuzzer, ASan+UBSan)"
        exit 0
    fi
    echo "not ok 1 - $name: libFuzzer exited with $status"
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|timeout|out-of-memory' "$work/fuzz.log" |
        head -n 20 | sed 's/^/# /'
    for f in "$work"/artifacts/*; do
        [ -f "$f" ] || continue
        echo "# reproducer $(basename "$f") (hex):"
        od -An -tx1 -v "$f" | head -n 16 | sed 's/^/#  /'
        echo "# replay it with: $name $(basename "$f")"
    done
    tail -n 30 "$work/fuzz.log" | sed 's/^/# /'
    exit 1
fi

# No libFuzzer: replay the corpus, with sanitizers if the compiler has them.
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
printf 'int main(void) { return 0; }\n' >"$work/probe.c"
if ! "$cc" $san "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
    san=
fi
# shellcheck disable=SC2086
if ! "$cc" -g -O1 -std=gnu11 $san $incs $sources "$fz/fuzz_main.c" $libs -o "$work/replay" \
        >"$work/build.log" 2>&1; then
    echo "not ok 1 - $name: the corpus replayer did not build"
    sed 's/^/# /' "$work/build.log"
    exit 1
fi
if out=$("$work/replay" "$corpus" 2>&1); then
    echo "ok 1 - $name: $out (no libFuzzer here: corpus replay only${san:+, ASan+UBSan})"
    exit 0
fi
echo "not ok 1 - $name: corpus replay failed"
printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
exit 1
