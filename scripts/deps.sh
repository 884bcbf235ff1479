# deps.sh - install the Debian packages tablecron needs (sourced by the
# scripts in this directory).  Only what is missing is installed, so a
# second run is quick and needs no network.
#
#   tc_install_deps build    compiler, autotools, libraries, PostgreSQL
#   tc_install_deps test     the above plus what the test suite drives
#
# The HTTP and gRPC task tests and the page tests also need node and npm
# (the gRPC server and playwright-core, tests/servers/); Debian's nodejs
# and npm are installed only when the commands are missing, so a node
# installed from elsewhere (with its own npm, which Debian's npm package
# would conflict with) is kept.

TC_DEPS_BUILD="autoconf automake libtool pkg-config build-essential libpq-dev
 libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libcrypt-dev check postgresql
 postgresql-client ca-certificates tzdata"
# The page tests drive Debian's chromium headless (through playwright-core,
# which downloads no browser of its own); the pages name DejaVu fonts, which
# chromium's dependencies pull in only as one alternative among several.
TC_DEPS_TEST="clang libclang-rt-14-dev python3 python3-croniter openssl protobuf-compiler
 chromium fonts-dejavu-core systemd nginx man-db dpkg-dev debhelper lintian adduser curl
 etcd-server"

tc_missing_packages() {
    local pkg missing=
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing="$missing $pkg"
        fi
    done
    echo "$missing"
}

tc_install_deps() {
    local want="$TC_DEPS_BUILD" missing sudo=
    if [ "$1" = test ]; then
        want="$want $TC_DEPS_TEST"
        command -v node >/dev/null 2>&1 || want="$want nodejs"
        command -v npm >/dev/null 2>&1 || want="$want npm"
    fi
    # shellcheck disable=SC2086
    missing=$(tc_missing_packages $want)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null; then sudo=sudo; else
            echo "tablecron: missing packages:$missing (run as root or install them)" >&2
            return 1
        fi
    fi
    echo "tablecron: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null || return 1
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q --no-install-recommends $missing </dev/null || return 1
}

# tc_build BUILDDIR [configure args...]: out-of-tree build, configure once.
tc_build() {
    local top builddir=$1; shift
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    if [ -f "$top/config.status" ]; then
        echo "tablecron: the source tree is configured in place; 'make distclean' there first" >&2
        return 1
    fi
    if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] \
        || [ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
        (cd "$top" && autoreconf -fi) || return 1
    fi
    mkdir -p "$builddir" || return 1
    if [ ! -f "$builddir/config.status" ] || [ "$top/configure" -nt "$builddir/config.status" ] \
        || [ "$*" != "$(cat "$builddir/.tc-configure-args" 2>/dev/null)" ]; then
        (cd "$builddir" && "$top/configure" --quiet "$@") || return 1
        echo "$*" >"$builddir/.tc-configure-args"
    fi
    make -C "$builddir" -j"$(nproc)" --no-print-directory >/dev/null || make -C "$builddir" --no-print-directory
}
