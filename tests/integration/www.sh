# www.sh - the pages' files as serve hands them out (www.c): content
# types, revalidation, and no way out of www_dir (dot segments, encoded
# slashes, hidden files, symbolic links, directories); without www_dir the
# API alone.
. "$TC_SRCDIR/tests/lib.sh"
plan 20

tc_need_tools curl

# A www_dir of our own, with a secret beside it and links that point out.
www=$TC_TMP/www
mkdir -p "$www/js" "$www/sub"
echo '<!doctype html><title>t</title>' >"$www/index.html"
echo 'export const x = 1;' >"$www/js/app.js"
echo 'body{}' >"$www/app.css"
echo '<svg xmlns="http://www.w3.org/2000/svg"/>' >"$www/icon.svg"
echo 'secret' >"$TC_TMP/secret.txt"
echo 'hidden' >"$www/.hidden"
ln -s "$TC_TMP/secret.txt" "$www/link.txt"
ln -s "$TC_TMP" "$www/outside"

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
start_bg "$TC_TMP/s.log" env TABLECRON_WWW_DIR="$www" "$TABLECRON" serve --no-scheduler --instance-id w1
wait_until 10 grep -q 'msg=starting' "$TC_TMP/s.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/s.log")"
url=$(tc_api_url "$TC_TMP/s.log")

get() { curl -s --path-as-is -o "$TC_TMP/body" -w '%{http_code} %{content_type}' "$@"; }
is "$(get "$url/")" '200 text/html; charset=utf-8' "/ is index.html"
is "$(cat "$TC_TMP/body")" '<!doctype html><title>t</title>' "with its content"
is "$(get "$url/js/app.js")" '200 text/javascript; charset=utf-8' "scripts are text/javascript"
is "$(get "$url/app.css")" '200 text/css; charset=utf-8' "styles are text/css"
is "$(get "$url/icon.svg")" '200 image/svg+xml' "icons are image/svg+xml"

curl -s -D "$TC_TMP/h" -o /dev/null "$url/js/app.js"
etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/Ip' "$TC_TMP/h")
like "$(cat "$TC_TMP/h")" 'Cache-Control: no-cache' "files are revalidated on every load"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/js/app.js")" 304 \
    "an unchanged file answers 304"
like "$(cat "$TC_TMP/h")" "Content-Security-Policy: default-src 'self'; script-src 'self'" \
    "and carries the strict Content-Security-Policy"

for path in '/../secret.txt' '/js/../../secret.txt' '/js/%2e%2e/%2e%2e/secret.txt' \
    '/js%2f..%2f..%2fsecret.txt' '/.hidden' '/link.txt' '/outside/secret.txt' '/js' '/js/' \
    '/nothing.js'; do
    code=$(get "$url$path")
    if [ "${code%% *}" = 404 ] && ! grep -q secret "$TC_TMP/body"; then pass "$path answers 404"
    else fail "$path answers 404" "$code $(head -c 200 "$TC_TMP/body")"; fi
done
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/index.html")" 404 "files are only read with GET"
kill "$TC_BG_PID"; wait "$TC_BG_PID" 2>/dev/null

# No pages directory: a warning, and the API still answers.
start_bg "$TC_TMP/s2.log" env TABLECRON_WWW_DIR="$TC_TMP/none" "$TABLECRON" serve --no-scheduler --instance-id w2
wait_until 10 grep -q 'msg=starting' "$TC_TMP/s2.log" || tc_bail "serve did not start: $(tail -3 "$TC_TMP/s2.log")"
url=$(tc_api_url "$TC_TMP/s2.log")
if grep -q 'the pages are not served' "$TC_TMP/s2.log" &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/")" = 404 ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; then
    pass "a missing www_dir is logged and the API still answers"
else fail "a missing www_dir is logged and the API still answers" "$(cat "$TC_TMP/s2.log")"; fi

done_testing
