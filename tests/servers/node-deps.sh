#!/bin/sh
# node-deps.sh DIR - install the node modules of the tests (the gRPC test
# server's @grpc packages, and playwright-core, which drives the system's
# chromium in the page tests: it downloads no browser) into DIR (outside
# the source tree, e.g. "$TC_BUILDDIR/tests/node") and print the NODE_PATH
# to use:
#
#   NODE_PATH=$(sh "$TC_SRCDIR/tests/servers/node-deps.sh" "$TC_BUILDDIR/tests/node") || ...
#
# The versions are pinned by package-lock.json next to this script and
# installed with `npm ci`, once: a second call finds DIR up to date (same
# lock file) and needs no network.  Tests running in parallel serialise on
# a lock file, so only one of them installs.  Messages go to stderr; the
# exit status is non-zero when node or npm is missing or `npm ci` fails.
set -u

dir=${1:?usage: node-deps.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "node-deps.sh: $tool not found (scripts/deps.sh installs nodejs and npm)" >&2
        exit 1
    fi
done
if ! command -v flock >/dev/null 2>&1; then
    echo "node-deps.sh: flock not found (util-linux)" >&2
    exit 1
fi

mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)

(
    flock -w 600 9 || { echo "node-deps.sh: timed out waiting for $dir/.lock" >&2; exit 1; }
    if cmp -s "$here/package-lock.json" "$dir/.installed-lock" && [ -d "$dir/node_modules/@grpc/grpc-js" ] \
        && [ -d "$dir/node_modules/playwright-core" ]; then
        exit 0
    fi
    echo "node-deps.sh: npm ci in $dir" >&2
    rm -f "$dir/.installed-lock"
    cp "$here/package.json" "$here/package-lock.json" "$dir/" || exit 1
    # No audit, funding or update notices; a private cache directory is
    # not needed: npm's own cache is safe for concurrent use.
    if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >&2; then
        echo "node-deps.sh: npm ci failed in $dir" >&2
        exit 1
    fi
    cp "$here/package-lock.json" "$dir/.installed-lock"
) 9>"$dir/.lock" || exit 1

echo "$dir/node_modules"
