# man_page.sh - the man page tablecron(8) agrees with the binary.
#
# The binary is the source of truth: its --help lists the commands and
# every config key (as --key-with-dashes, with its default), each
# command's --help its subcommands and flags.  The page must document all
# of them, the sample config must carry every key, and the page must
# render without warnings.  Checks read the page as man(1) shows it
# (groff, plain text, lines unbroken), so markup does not matter, except
# that a config key must be a `.TP` entry of its own.
#
# To try a changed copy of the page: TC_MAN_PAGE=/tmp/copy.8 make check
# TESTS=tests/integration/man_page.sh
. "$TC_SRCDIR/tests/lib.sh"
plan 19

tc_need_tools groff man lexgrog
MAN=${TC_MAN_PAGE:-$TC_SRCDIR/man/tablecron.8}
CONF=$TC_SRCDIR/etc/tablecron.conf
[ -r "$MAN" ] || tc_bail "no man page at $MAN"

# The page as plain text, one paragraph per line (no hyphenation, a line
# length nothing reaches), so that a name is never split.
groff -man -Tascii -P-cbou -rHY=0 -rLL=5000n "$MAN" >"$TC_TMP/page.txt" 2>/dev/null ||
    tc_bail "groff cannot render $MAN"

# section NAME: the rendered lines of one section (headings start in
# column 0), e.g. section 'EXIT STATUS'.
section() { awk -v name="$1" '/^[A-Z]/ { on = ($0 == name); next } on' "$TC_TMP/page.txt"; }

# missing_report DESCRIPTION LIST: pass when LIST (missing items) is empty.
missing_report() {
    if [ -z "$2" ]; then pass "$1"; else fail "$1" "missing:$2"; fi
}

help=$("$TABLECRON" --help) || tc_bail "tablecron --help failed"

# --- config keys ------------------------------------------------------
# "  --max-running    executions ... (default: 16)"; --config names the
# file and is not a key.
"$TABLECRON" --help | sed -n 's/^  --\([a-z][a-z0-9-]*\) .*(default: \(.*\))$/\1 \2/p' |
    grep -v '^config ' >"$TC_TMP/keys"
nkeys=$(wc -l <"$TC_TMP/keys")
nsrc=$(sed -n '/^static const struct cfg_opt cfg_opts\[\] = {/,/^};/p' "$TC_SRCDIR/src/config.c" |
    grep -cE '^ *\{ "[a-z_]+",')
if [ "$nkeys" -gt 0 ] && [ "$nkeys" = "$nsrc" ]; then
    pass "tablecron --help lists $nkeys config keys, as many as cfg_opts in src/config.c"
else
    fail "tablecron --help lists as many config keys as cfg_opts" "help: $nkeys" "src/config.c: $nsrc"
fi

miss_conf='' miss_entry='' miss_default='' miss_env=''
while read -r flag dflt; do
    key=$(printf '%s' "$flag" | tr - _)
    grep -Eq "^#?[[:space:]]*${key}[[:space:]]*=" "$CONF" || miss_conf="$miss_conf $key"
    # An entry of its own: `.TP` then `.B key`, in CONFIGURATION.
    awk -v key="$key" '/^\.SH/ { on = ($0 ~ /^\.SH "?CONFIGURATION"?$/) }
        on && prev == ".TP" && $0 == ".B " key { found = 1 }
        { prev = $0 } END { exit !found }' "$MAN" || miss_entry="$miss_entry $key"
    # The entry's text, from its tag to the next line indented no deeper
    # (the tag may share its line with the text when it is short).
    text=$(section CONFIGURATION | awk -v key="$key" '
        { match($0, /^ */); ind = RLENGTH; t = substr($0, ind + 1) }
        found && t != "" && ind <= tagind { exit }
        !found && (t == key || index(t, key " ") == 1) { found = 1; tagind = ind; t = substr(t, length(key) + 1) }
        found { printf "%s ", t }')
    # Compiled-in paths differ by prefix: the page shows the Debian ones.
    case $dflt in
    */share/*) want="/usr/share/${dflt#*/share/}" ;;
    */etc/*) want="/etc/${dflt#*/etc/}" ;;
    *) want=$dflt ;;
    esac
    case $text in
    *"Default: $want."*) ;;
    *) miss_default="$miss_default $key(want 'Default: $want.')" ;;
    esac
    env=TABLECRON_$(printf '%s' "$key" | tr '[:lower:]' '[:upper:]')
    section ENVIRONMENT | grep -Eq "(^|[^A-Z_])${env}([^A-Z_]|$)" || miss_env="$miss_env $env"
done <"$TC_TMP/keys"
missing_report "every config key is in etc/tablecron.conf ($nkeys keys)" "$miss_conf"
missing_report "every config key has a .TP/.B entry in CONFIGURATION ($nkeys keys)" "$miss_entry"
missing_report "every config key's entry gives the binary's default" "$miss_default"
missing_report "every TABLECRON_<KEY> variable is in ENVIRONMENT ($nkeys)" "$miss_env"

# --- commands, subcommands, flags -------------------------------------
# "commands:" blocks list names indented by two spaces up to a blank line.
commands_of() { awk '/^commands:$/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'; }
printf '%s\n' "$help" | commands_of >"$TC_TMP/commands"
ncmds=$(wc -l <"$TC_TMP/commands")

# Flags of every help text: the main one, each command's and each
# subcommand's (from its "commands:" block or its usage lines, as
# "tablecron cron next EXPR" or "tablecron history show ID").
printf '%s\n' "$help" >"$TC_TMP/helps"
: >"$TC_TMP/subs"
miss_cmd='' help_failed=''
while read -r cmd; do
    section COMMANDS | grep -Eq "^ +tablecron $cmd( |$)" || miss_cmd="$miss_cmd $cmd"
    if ! h=$("$TABLECRON" "$cmd" --help 2>&1); then help_failed="$help_failed '$cmd --help'"; fi
    printf '%s\n' "$h" >>"$TC_TMP/helps"
    {
        printf '%s\n' "$h" | commands_of
        printf '%s\n' "$h" | sed -n -E "s/^(usage:)? +tablecron $cmd ([a-z][a-z-]*)( .*)?$/\\2/p"
    } | sort -u | while read -r sub; do echo "$cmd $sub"; done >>"$TC_TMP/subs"
done <"$TC_TMP/commands"
missing_report "every command of tablecron --help has an entry in COMMANDS ($ncmds commands)" \
    "$miss_cmd"

nsubs=$(wc -l <"$TC_TMP/subs")
miss_sub=
while read -r cmd sub; do
    section COMMANDS | grep -Eq "^ +tablecron $cmd $sub( |$)" || miss_sub="$miss_sub '$cmd $sub'"
    if ! h=$("$TABLECRON" "$cmd" "$sub" --help 2>&1); then help_failed="$help_failed '$cmd $sub --help'"; fi
    printf '%s\n' "$h" >>"$TC_TMP/helps"
done <"$TC_TMP/subs"
if [ -n "$help_failed" ]; then miss_sub="$miss_sub (and these failed:$help_failed)"; fi
missing_report "every subcommand has an entry in COMMANDS ($nsubs subcommands)" "$miss_sub"

grep -oE -- '--[a-z][a-z0-9-]*' "$TC_TMP/helps" | sort -u >"$TC_TMP/flags"
nflags=$(wc -l <"$TC_TMP/flags")
miss_flag=
while read -r flag; do
    grep -Eq -- "${flag}([^a-z0-9-]|$)" "$TC_TMP/page.txt" || miss_flag="$miss_flag $flag"
done <"$TC_TMP/flags"
missing_report "every flag the help texts print is in the page ($nflags flags)" "$miss_flag"

# --- environment, signals, exit codes, files ---------------------------
# What the code reads (getenv) and what it gives shell tasks (exec.c).
{
    grep -ohE 'getenv\("[A-Z_]+"\)' "$TC_SRCDIR"/src/*.c | sed 's/getenv("\(.*\)")/\1/'
    grep -ohE '"TABLECRON_[A-Z_]+=' "$TC_SRCDIR"/src/*.c | tr -d '"='
} | sort -u >"$TC_TMP/envs"
nenvs=$(wc -l <"$TC_TMP/envs")
miss_env=
while read -r env; do
    section ENVIRONMENT | grep -Eq "(^|[^A-Z_])${env}([^A-Z_]|$)" || miss_env="$miss_env $env"
done <"$TC_TMP/envs"
if [ "$nenvs" -gt 0 ]; then
    missing_report "every variable the code reads or sets is in ENVIRONMENT ($nenvs)" "$miss_env"
else
    fail "the variables of src/*.c were found"
fi

sigs=$("$TABLECRON" serve --help | grep -oE 'SIG[A-Z]+' | sort -u | tr '\n' ' ')
miss_sig=
for sig in $sigs; do
    section SIGNALS | grep -Eq "^ +([A-Z, ]*[ ,])?$sig(,| |$)" || miss_sig="$miss_sig $sig"
done
if [ -n "$sigs" ]; then
    missing_report "every signal of serve --help has an entry in SIGNALS (${sigs% })" "$miss_sig"
else
    fail "serve --help names its signals"
fi

codes=$(printf '%s\n' "$help" | sed -n 's/^exit codes: //p' | grep -oE '(^|, )[0-9]+' | tr -dc '0-9\n' | tr '\n' ' ')
miss_code=
for code in $codes; do
    section 'EXIT STATUS' | grep -Eq "^ +$code( |$)" || miss_code="$miss_code $code"
done
if [ -n "$codes" ]; then
    missing_report "every exit code of --help has an entry in EXIT STATUS (${codes% })" "$miss_code"
else
    fail "tablecron --help lists its exit codes"
fi

# The compiled-in config file and data directories, under Debian's prefix.
paths=$(printf '%s\n' "$help" | grep -oE '(/[A-Za-z0-9._-]+)*/(etc/tablecron/tablecron\.conf|share/tablecron/[a-z]+)' |
    sed -E 's,^.*/etc/,/etc/,; s,^.*/share/,/usr/share/,' | sort -u | tr '\n' ' ')
miss_path=
for p in $paths; do
    section FILES | grep -Eq "^ +$p$" || miss_path="$miss_path $p"
done
if [ "$(printf '%s' "$paths" | wc -w)" -ge 3 ]; then
    missing_report "FILES has the config file and the data directories (${paths% })" "$miss_path"
else
    fail "tablecron --help names the config file and the data directories" "found: $paths"
fi

# --- rendering --------------------------------------------------------
warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >"$TC_TMP/man80.txt")
is "$warn" "" "man --warnings -l renders the page without warnings"
warn=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
is "$warn" "" "groff -ww renders the page without warnings"
wide=$(LC_ALL=C.UTF-8 wc -L <"$TC_TMP/man80.txt")
if [ -s "$TC_TMP/man80.txt" ] && [ "$wide" -le 80 ]; then
    pass "no line is wider than 80 columns at MANWIDTH=80 (widest $wide)"
else
    fail "no line is wider than 80 columns at MANWIDTH=80" "widest: $wide" \
        "$(LC_ALL=C.UTF-8 grep -E '^.{81,}$' "$TC_TMP/man80.txt" | head -n 3)"
fi
like "$(lexgrog "$MAN" 2>&1)" '"tablecron - [a-z]' "lexgrog finds the whatis line in NAME"

# --- version ----------------------------------------------------------
v_flag=$("$TABLECRON" --version)
v_cmd=$("$TABLECRON" version)
like "$v_flag" '^tablecron [0-9]' "tablecron --version prints a version"
is "$v_cmd" "$v_flag" "tablecron version prints the same as --version"
th=$(sed -n -E 's/^\.TH +[^ ]+ +8 +("[^"]*"|[^ ]+) +"([^"]*)".*/\2/p' "$MAN")
if [ -f "${TC_BUILDDIR:-}/autoconfig.h" ]; then
    pkg=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$TC_BUILDDIR/autoconfig.h")
else
    pkg=$(sed -n 's/^AC_INIT(\[tablecron\], \[\([^]]*\)\].*/\1/p' "$TC_SRCDIR/configure.ac")
fi
if [ "$th" = "$v_flag" ] && [ "$v_flag" = "tablecron $pkg" ]; then
    pass "the .TH line, --version and configure agree on '$v_flag'"
else
    fail "the .TH line, --version and configure agree" ".TH: '$th'" "--version: '$v_flag'" \
        "configure: '$pkg'"
fi

echo "# $nkeys config keys, $ncmds commands, $nsubs subcommands, $nflags flags, $nenvs variables"
done_testing
