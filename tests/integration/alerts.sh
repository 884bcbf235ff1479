# alerts.sh - failure alerts end to end: channels and rules made through
# the API, two `tablecron serve` instances, a webhook receiver
# (tests/servers/http_server.py) and a fake sendmail.
#
#   webhooks   a failing job alerts each template (json, slack, dingtalk,
#              feishu) with the body its service expects; the next
#              failures within repeat_interval_s are recorded suppressed
#              and send nothing; a success sends one recovery per rule,
#              telling how many were suppressed
#   events     timed_out, abandoned (a row written by SQL), no_success
#              (once, however long the job keeps failing), a test message
#   email      the fake sendmail gets `-t -i` and a well-formed message
#   failover   the instance sending alerts is killed (-9): the other takes
#              over, and every alert reaches the receiver exactly once
#   delivery   a webhook that refuses connections or answers too slowly
#              is recorded failed, while an every-second job keeps
#              starting on time in the same instance
#   API        a viewer cannot create rules and sees webhook URLs masked,
#              department B sees nothing of A, bad input answers 400
#              naming the field
#   pages      with chromium, tests/browser/alerts.test.mjs signs in and
#              reads the alerts page
. "$TC_SRCDIR/tests/lib.sh"
. "$TC_SRCDIR/tests/api_lib.sh"
. "$TC_SRCDIR/tests/servers/servers.sh"
api_need_tools

"$TABLECRON" migrate >/dev/null 2>&1 || tc_bail "migrate failed"
api_fixtures # departments A (11) and B (12), users with tokens tok-LOGIN
# This test makes its own jobs, channels and rules.
q "DELETE FROM alert_rules; DELETE FROM alert_channels; DELETE FROM jobs" >/dev/null

tc_start_server hook python3 "$TC_SERVERS/http_server.py" || tc_bail "the webhook receiver did not start"
hook="http://127.0.0.1:$TC_SERVER_PORT"

# The fake sendmail keeps its arguments and each message it is given.
mkdir "$TC_TMP/mail"
cat >"$TC_TMP/sendmail" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$TC_TMP/mail/args"
cat >"$TC_TMP/mail/tmp.\$\$" && mv "$TC_TMP/mail/tmp.\$\$" "$TC_TMP/mail/msg.\$\$.eml"
EOF
chmod +x "$TC_TMP/sendmail"

cli() { "$TABLECRON" "$@" >>"$TC_TMP/cli.out" 2>&1 || tc_bail "tablecron $*: $(tail -n 3 "$TC_TMP/cli.out")"; }
job_id() { q "SELECT id FROM jobs WHERE name = '$1'"; }
touch "$TC_TMP/failing"
cli job add flap --department A --schedule '* * * * * *' --shell "test ! -e $TC_TMP/failing"
cli job add tout --department A --schedule '@every 1h' --paused --timeout 1 --shell 'sleep 10'
cli job add silent --department A --schedule '* * * * * *' --shell 'exit 1'
cli job add mailer --department A --schedule '@every 1h' --paused --shell 'echo mail me; exit 3'
cli job add downjob --department A --schedule '@every 1h' --paused --shell 'exit 1'
cli job add tick --department A --schedule '* * * * * *' --shell 'true'

# --- two instances -------------------------------------------------------------
# The pages come from the source tree.
export TABLECRON_WWW_DIR=$TC_SRCDIR/www
serve() {
    start_bg "$TC_TMP/$1.log" "$TABLECRON" serve --instance-id "$1" --max-poll 1s --lease 3s \
        --sendmail-path "$TC_TMP/sendmail"
    eval "pid_$1=$TC_BG_PID"
    wait_until 15 api_started "$TC_TMP/$1.log" || tc_bail "serve $1 did not start: $(tail -n 5 "$TC_TMP/$1.log")"
}
serve al1
serve al2
API_URL=$(tc_api_url "$TC_TMP/al1.log")
wait_until 10 curl -sf -o /dev/null "$API_URL/healthz" || tc_bail "serve al1 does not answer /healthz"

# --- channels and rules through the API ---------------------------------------------
# new_channel NAME BODY-FIELDS: a channel of A made by its manager; its id in $ch_NAME.
new_channel() {
    api a_manager POST /api/v1/alert-channels "{\"name\": \"$1\", \"department\": \"A\", $2}"
    [ "$API_CODE" = 201 ] || tc_bail "channel $1: $API_CODE $API_BODY"
    eval "ch_$1=$(jpy 'd["id"]')"
}
new_rule() {
    api a_manager POST /api/v1/alert-rules "$1"
    [ "$API_CODE" = 201 ] || tc_bail "rule $1: $API_CODE $API_BODY"
    API_RULE=$(jpy 'd["id"]')
}
for t in json slack dingtalk feishu; do
    new_channel "$t" "\"kind\": \"webhook\", \"url\": \"$hook/echo?ch=$t\", \"template\": \"$t\""
    new_rule "{\"job\": \"flap\", \"channel\": $(eval echo "\$ch_$t"), \"events\": [\"failed\"], \"repeat_interval_s\": 3600}"
    eval "rule_$t=$API_RULE"
done
new_channel mail '"kind": "email", "email_to": "ops@example.com,  oncall@example.com", "email_from": "cron@example.com"'
new_channel down "\"kind\": \"webhook\", \"url\": \"http://127.0.0.1:$(tc_free_port)/hook\", \"template\": \"slack\""
new_channel slow "\"kind\": \"webhook\", \"url\": \"$hook/slow?ms=30000\""
new_rule "{\"job\": \"tout\", \"channel\": $ch_json, \"events\": [\"timed_out\"]}"
new_rule "{\"job\": \"silent\", \"channel\": $ch_json, \"events\": [\"no_success\"], \"no_success_s\": 3, \"repeat_interval_s\": 0}"
rule_silent=$API_RULE
new_rule "{\"job\": \"mailer\", \"channel\": $ch_mail, \"events\": [\"failed\", \"abandoned\"]}"
new_rule "{\"job\": \"downjob\", \"channel\": $ch_down, \"events\": [\"failed\"]}"
new_rule "{\"job\": \"downjob\", \"channel\": $ch_slow, \"events\": [\"failed\"]}"
pass "a manager of A made 7 channels and 9 rules through the API"

# hook_bodies FILTER EXPR: EXPR (b: the request's body as JSON, p: its path,
# h: its headers) for each request of the receiver matching FILTER.
hook_bodies() {
    python3 -c '
import json, sys
flt, expr = compile(sys.argv[2], "f", "eval"), compile(sys.argv[3], "e", "eval")
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("event") != "request": continue
    p, h = r["path"], r["headers"]
    try: b = json.loads(r["body"])
    except ValueError: b = None
    if eval(flt): print(eval(expr))' "$TC_TMP/hook.log" "$1" "$2"
}
hook_count() { hook_bodies "$1" 1 | wc -l; }
# flap_to T: the filter of the requests about job flap to channel T (the
# json channel also gets other jobs' alerts and the test message).
flap_to() { echo "p == '/echo?ch=$1' and (b.get('job') or {'name': 'flap'})['name'] == 'flap' and b.get('event') != 'test'"; }
count_is() { [ "$(hook_count "$2")" = "$1" ]; }
count_at_least() { [ "$(hook_count "$2")" -ge "$1" ]; }

# --- a failing job: each template once, then suppressed --------------------------------
cli job run tout
cli job run mailer
api a_operator POST "/api/v1/alert-channels/$ch_json/test"
is "$API_CODE $(jpy 'd["status"]')" "202 pending" "an operator sends a channel a test message (202, queued)"
for t in json slack dingtalk feishu; do
    wait_until 20 count_is 1 "$(flap_to $t)" || fail "the $t webhook got the failure" "$(hook_count "$(flap_to $t)") requests"
done
wait_sql 20 4 "SELECT count(DISTINCT rule_id) FROM alerts WHERE status = 'suppressed' AND event = 'failed'" ||
    fail "every flap rule recorded a suppressed repeat" "$(q "SELECT rule_id, status, count(*) FROM alerts GROUP BY 1, 2")"

f=$(hook_bodies "$(flap_to json)" 'json.dumps(b, sort_keys=True)' | head -n 1)
is "$(printf '%s' "$f" | python3 -c '
import json, sys
b = json.load(sys.stdin)
e = b["execution"]
print(b["event"], b["job"]["name"], b["department"]["name"], e["status"], e["exit_code"],
      type(b["alert_id"]).__name__, type(e["id"]).__name__, b["suppressed"],
      b["subject"], "|", b["text"].splitlines()[0])')" \
    "failed flap A failed 1 int int 0 [tablecron] job flap failed | Job flap (department A) failed." \
    "the json template carries the alert, the job, its department and the run"
like "$(hook_bodies "$(flap_to json)" 'sorted(b)' | head -n 1)" \
    "'alert_id'.*'channel'.*'created_at'.*'department'.*'event'.*'execution'.*'job'.*'rule_id'.*'subject'.*'suppressed'.*'text'" \
    "with every documented key"
is "$(hook_bodies "p == '/echo?ch=slack'" 'sorted(b) == ["text"] and b["text"].startswith("[tablecron] job flap failed\nJob flap (department A) failed.")' | head -n 1)" \
    True "the slack template is {\"text\": subject and message}"
is "$(hook_bodies "p == '/echo?ch=dingtalk'" 'sorted(b) == ["msgtype", "text"] and b["msgtype"] == "text" and sorted(b["text"]) == ["content"] and b["text"]["content"].startswith("[tablecron] job flap failed\n")' | head -n 1)" \
    True "the dingtalk template is {\"msgtype\": \"text\", \"text\": {\"content\"}}"
is "$(hook_bodies "p == '/echo?ch=feishu'" 'sorted(b) == ["content", "msg_type"] and b["msg_type"] == "text" and sorted(b["content"]) == ["text"] and b["content"]["text"].startswith("[tablecron] job flap failed\n")' | head -n 1)" \
    True "the feishu template is {\"msg_type\": \"text\", \"content\": {\"text\"}}"
is "$(hook_bodies "p.startswith('/echo?ch=')" 'h.get("content-type")' | sort -u)" "application/json; charset=utf-8" \
    "webhooks are sent as application/json; charset=utf-8"
is "$(hook_bodies "p.startswith('/echo?ch=')" 'h.get("x-tablecron-alert", "").isdigit()' | sort -u)" True \
    "each carries its alert id in X-Tablecron-Alert"
is "$(hook_count "$(flap_to json) and b['event'] == 'failed'")" 1 \
    "repeats within repeat_interval_s send nothing (one request for several failures)"
is "$(q "SELECT count(*) >= 1, bool_and(suppressed_count = 0 AND sent_at IS NULL AND event = 'failed'
                                         AND execution_id IS NOT NULL)
           FROM alerts WHERE rule_id = $rule_json AND status = 'suppressed'")" "t|t" \
    "and are recorded as suppressed, each with its run"

wait_until 20 count_is 1 "p == '/echo?ch=json' and b['event'] == 'timed_out'" || true
is "$(hook_bodies "p == '/echo?ch=json' and b['event'] == 'timed_out'" 'b["job"]["name"] + " " + b["execution"]["status"]')" \
    "tout timed_out" "a run that timed out is alerted"
wait_until 20 count_is 1 "p == '/echo?ch=json' and b['event'] == 'no_success'" || true
is "$(hook_bodies "p == '/echo?ch=json' and b['event'] == 'no_success'" 'b["job"]["name"] + " " + str(b["no_success_s"]) + " " + str(b["execution"])')" \
    "silent 3 None" "a job without a success for no_success_s is alerted"
wait_until 20 count_is 1 "p == '/echo?ch=json' and b['event'] == 'test'" || true
like "$(hook_bodies "p == '/echo?ch=json' and b['event'] == 'test'" 'b["subject"] + " / " + b["text"]')" \
    '^\[tablecron\] test message to channel json / .*department A, sent by token:a_operator' \
    "the test message arrives"

# --- email --------------------------------------------------------------------------------
mail_file() { ls "$TC_TMP"/mail/msg.*.eml 2>/dev/null | head -n 1; }
wait_until 20 test -n "$(mail_file)" || true
is "$(cat "$TC_TMP/mail/args" 2>/dev/null)" "-t -i" "sendmail is run as sendmail -t -i"
is "$(python3 -c '
import email, email.utils, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
ok = [m["From"] == "tablecron <cron@example.com>",
      m["To"] == "ops@example.com, oncall@example.com",
      m["Subject"] == "[tablecron] job mailer failed",
      email.utils.parsedate_to_datetime(m["Date"]) is not None,
      m["MIME-Version"] == "1.0",
      m.get_content_type() == "text/plain", m.get_content_charset() == "utf-8",
      m["X-Tablecron-Alert"].isdigit(),
      "Job mailer (department A) failed." in m.get_payload(decode=True).decode("utf-8"),
      "exit code 3" in m.get_payload(decode=True).decode("utf-8")]
print(ok)' "$(mail_file)" 2>&1)" "[True, True, True, True, True, True, True, True, True, True]" \
    "the message has From, To, Subject, Date, MIME-Version, a UTF-8 text body and the run"
mailer=$(job_id mailer)
q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id, status, started_at, finished_at, error)
   VALUES ($mailer, now() - interval '1 minute', 1, 'gone', 'abandoned', now() - interval '1 minute', now(),
           'abandoned: instance gone stopped renewing its lease')" >/dev/null
# Within the rule's repeat interval of the failure: recorded, suppressed.
if wait_sql 20 "abandoned|suppressed" "SELECT event, status FROM alerts WHERE job_id = $mailer AND event = 'abandoned'"; then
    pass "an abandoned run is matched (and suppressed: within the interval of the failure before)"
else
    fail "an abandoned run is matched" "$(q "SELECT event, status FROM alerts WHERE job_id = $mailer")"
fi

# --- recovery --------------------------------------------------------------------------------
rm -f "$TC_TMP/failing"
for t in json slack dingtalk feishu; do
    wait_until 20 count_is 2 "$(flap_to $t)" || true
done
is "$(hook_bodies "$(flap_to json) and b['event'] == 'recovered'" \
    'b["job"]["name"] + " " + b["execution"]["status"] + " " + str(b["suppressed"])')" \
    "flap succeeded $(q "SELECT count(*) FROM alerts WHERE rule_id = $rule_json AND status = 'suppressed'")" \
    "a success sends one recovery, counting the suppressed alerts"
like "$(hook_bodies "$(flap_to json) and b['event'] == 'recovered'" 'b["text"]')" \
    '[0-9]+ more alerts? of this job and rule (was|were) suppressed' \
    "and says so in words"
is "$(for t in slack dingtalk feishu; do hook_count "$(flap_to $t)"; done | tr '\n' ' ')" "2 2 2 " \
    "each chat template got the failure and the recovery"
is "$(q "SELECT count(*) FROM alerts WHERE event = 'recovered'")" 4 "one recovery per rule"
is "$(q "SELECT bool_and(NOT open) FROM alert_state WHERE rule_id IN ($rule_json, $rule_slack, $rule_dingtalk, $rule_feishu)")" \
    t "the incidents are closed"

# no_success stays one alert while the job keeps failing.
first=$(q "SELECT max(id) FROM executions WHERE job_id = $(job_id silent)")
wait_sql 20 t "SELECT count(*) >= 3 FROM executions WHERE job_id = $(job_id silent) AND id > $first AND status = 'failed'"
is "$(q "SELECT count(*) FROM alerts WHERE rule_id = $rule_silent") $(hook_count "b and b.get('event') == 'no_success'")" \
    "1 1" "no_success alerts once, however long the job keeps failing"

# --- failover: kill -9 the instance that sends ---------------------------------------------
wait_sql 20 0 "SELECT count(*) FROM alerts WHERE status = 'pending'"
holder=$(q "SELECT instance_id FROM alerter_state")
case $holder in
al1) victim=$pid_al1 other=al2 ;;
al2) victim=$pid_al2 other=al1 ;;
*) victim= other= ;;
esac
if [ -n "$victim" ]; then pass "alerter_state names the instance that sends ($holder)"
else fail "alerter_state names the instance that sends" "instance_id: '$holder'"; fi
if [ -n "$victim" ]; then
    kill -KILL "$victim"
    wait "$victim" 2>/dev/null
fi
API_URL=$(tc_api_url "$TC_TMP/$other.log")
touch "$TC_TMP/failing"
# A new incident after the recovery is alerted at once (the limit starts again).
for t in json slack; do
    wait_until 25 count_is 3 "$(flap_to $t)" || true
done
is "$(hook_bodies "$(flap_to json)" 'b["event"]' | tr '\n' ' ')" "failed recovered failed " \
    "the other instance takes over: the next failure is alerted once"
is "$(q "SELECT instance_id FROM alerter_state")" "$other" "alerter_state names the new sender"
cli job pause flap
cli job pause silent

# --- a webhook down, one too slow (checked below, after the API and the page) ---------
cli job run downjob
dj=$(job_id downjob)

# --- the API: permissions, masking, bad input ------------------------------------------------------
api a_viewer POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"failed\"]}"
is "$API_CODE" 403 "a viewer of A cannot create a rule"
api a_operator POST /api/v1/alert-channels '{"name": "x", "department": "A", "kind": "email", "email_to": "a@b.c"}'
is "$API_CODE" 403 "an operator of A cannot create a channel"
api a_viewer PATCH "/api/v1/alert-rules/$rule_json" '{"enabled": false}'
is "$API_CODE" 403 "a viewer of A cannot change a rule"
api a_viewer GET "/api/v1/alert-channels/$ch_slack"
is "$API_CODE $(jpy 'd["url"]')" "200 http://127.0.0.1:$TC_SERVER_PORT/..." "a viewer sees a webhook URL's scheme and host only"
api a_manager GET "/api/v1/alert-channels/$ch_slack"
is "$(jpy 'd["url"]')" "$hook/echo?ch=slack" "a manager sees it whole"
api b_manager GET "/api/v1/alert-channels/$ch_json"
is "$API_CODE" 404 "department B cannot see a channel of A"
api b_manager GET "/api/v1/alert-rules/$rule_json"
is "$API_CODE" 404 "nor a rule of A"
api b_manager DELETE "/api/v1/alert-rules/$rule_json"
is "$API_CODE" 404 "nor delete it"
api b_manager GET /api/v1/alerts
is "$API_CODE $(jpy 'len(d["items"])')" "200 0" "nor list the alerts of A"
api b_manager GET /api/v1/alert-channels
is "$(jpy 'len(d["items"])')" 0 "nor list its channels"
api b_manager POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"failed\"]}"
is "$API_CODE" 404 "nor make a rule for its job"
api b_manager POST /api/v1/alert-rules "{\"department\": \"B\", \"channel\": $ch_json, \"events\": [\"failed\"]}"
is "$API_CODE $(jpy 'd["error"]["field"]')" "400 channel" "nor use its channel"
api a_viewer GET "/api/v1/alerts?job=$(job_id flap)&status=sent"
is "$API_CODE $(jpy 'sorted({i["event"] for i in d["items"]})')" "200 ['failed', 'recovered']" \
    "a viewer of A lists the alerts of a job"
api a_viewer GET "/api/v1/alert-rules?job=$(job_id flap)"
is "$(jpy 'len(d["items"])')" 4 "and the rules of a job"
api admin GET '/api/v1/alerts?limit=2'
is "$(jpy 'len(d["items"]) == 2 and d["next"] is not None')" True "the alerts come a page at a time"
api admin GET "/api/v1/alerts?limit=2&before=$(jpy 'd["next"]')"
is "$(jpy 'len(d["items"])')" 2 "and the next page follows"

bad() { # bad DESCRIPTION FIELD METHOD PATH BODY
    api a_manager "$3" "$4" "$5"
    if [ "$API_CODE" = 400 ] && [ "$(jpy 'd["error"]["field"]')" = "$2" ]; then
        pass "$1: 400 naming $2 ($(jpy 'd["error"]["message"]'))"
    else
        fail "$1: 400 naming $2" "got $API_CODE $API_BODY"
    fi
}
bad "an unknown event" events POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"fail\"]}"
bad "no event" events POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": []}"
bad "a negative interval" repeat_interval_s POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"failed\"], \"repeat_interval_s\": -5}"
bad "no_success without its seconds" no_success_s POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"no_success\"]}"
bad "an unknown field" colour POST /api/v1/alert-rules "{\"job\": \"flap\", \"channel\": $ch_json, \"events\": [\"failed\"], \"colour\": 1}"
bad "a bad URL" url POST /api/v1/alert-channels '{"name": "x", "department": "A", "kind": "webhook", "url": "ftp://example.com/x"}'
bad "a URL without a host" url POST /api/v1/alert-channels '{"name": "x", "department": "A", "kind": "webhook", "url": "http://"}'
bad "an unknown template" template POST /api/v1/alert-channels "{\"name\": \"x\", \"department\": \"A\", \"kind\": \"webhook\", \"url\": \"$hook/\", \"template\": \"teams\"}"
bad "a bad address" email_to POST /api/v1/alert-channels '{"name": "x", "department": "A", "kind": "email", "email_to": "ops@example.com, not an address"}'
bad "a header in an address" email_from POST /api/v1/alert-channels '{"name": "x", "department": "A", "kind": "email", "email_to": "a@b.c", "email_from": "a@b.c\nBcc: x@y.z"}'
bad "a bad event in a change" events PATCH "/api/v1/alert-rules/$rule_json" '{"events": ["failed", "exploded"]}'
api a_manager DELETE "/api/v1/alert-channels/$ch_json"
is "$API_CODE $(jpy 'd["error"]["code"]')" "409 conflict" "a channel used by rules cannot be deleted"
api a_manager PATCH "/api/v1/alert-rules/$rule_json" '{"enabled": false, "repeat_interval_s": 60}'
is "$API_CODE $(jpy 'd["enabled"], d["repeat_interval_s"]')" "200 (False, 60)" "a manager changes a rule"
api a_manager DELETE "/api/v1/alert-rules/$rule_json"
is "$API_CODE" 204 "and deletes it"
is "$(q "SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log WHERE object_type = 'alert_rule' AND object_id = '$rule_json'")" \
    "alert_rule.create alert_rule.update alert_rule.delete" "every change is in the audit log"
unlike "$(q "SELECT string_agg(coalesce(before::text, '') || coalesce(after::text, ''), ' ') FROM audit_log WHERE object_type = 'alert_channel'")" \
    'echo\?ch=' "the audit log keeps webhook URLs masked"

# --- the page ----------------------------------------------------------------------------------------
api_page_script "the alerts page in chromium" alerts.test.mjs || true

# --- a webhook down, one too slow; the scheduler ran on -------------------------------------
wait_sql 30 "failed" "SELECT status FROM alerts WHERE job_id = $dj AND channel_id = $ch_slow AND status <> 'pending'" || true
is "$(q "SELECT status, error ~ 'refused|connect', sent_at IS NOT NULL FROM alerts WHERE job_id = $dj AND channel_id = $ch_down")" \
    "failed|t|t" "a webhook that refuses connections is recorded failed, with why"
is "$(q "SELECT status, error ~* 'time', sent_at - created_at >= interval '9 seconds' FROM alerts
          WHERE job_id = $dj AND channel_id = $ch_slow")" \
    "failed|t|t" "a webhook that does not answer in 10 s is recorded failed"
unlike "$(q "SELECT string_agg(error, ' ') FROM alerts WHERE error IS NOT NULL")" "$hook/slow|ms=30000" \
    "errors never repeat the webhook URL (it may hold a secret)"
# While that send hung, the tick job started every second, on time, in the
# instance that was sending (the only one left).
is "$(q "SELECT count(*) >= extract(epoch FROM a.sent_at - a.created_at) - 3,
                max(e.started_at - e.scheduled_for) < interval '2 seconds'
           FROM alerts a, executions e
          WHERE a.job_id = $dj AND a.channel_id = $ch_slow AND e.job_id = $(job_id tick)
            AND e.scheduled_for BETWEEN a.created_at + interval '1 second' AND a.sent_at - interval '1 second'
          GROUP BY a.sent_at, a.created_at")" "t|t" \
    "an every-second job kept starting on time while a send hung"

# --- exactly once -------------------------------------------------------------------------------
dups=$(hook_bodies "'x-tablecron-alert' in h" 'h["x-tablecron-alert"]' | sort | uniq -d | tr '\n' ' ')
is "$dups" "" "no alert reached the receiver twice (two instances, one killed)"
is "$(q "SELECT count(*) FROM alerts WHERE status = 'sent' AND channel_id IN ($ch_json, $ch_slack, $ch_dingtalk, $ch_feishu)")" \
    "$(hook_count "p.startswith('/echo?ch=')")" "every alert recorded sent to the receiver arrived there"
is "$(q "SELECT count(*) FROM alerts WHERE status = 'pending'")" 0 "nothing is left pending"

# --- the instance left ----------------------------------------------------------------------------------
other_pid=$(eval echo "\$pid_$other")
kill -TERM "$other_pid"
if wait_until 40 tc_exited "$other_pid"; then
    wait "$other_pid"
    is "$?" 0 "the instance left stops cleanly on SIGTERM"
else
    fail "the instance left stops cleanly on SIGTERM" "$(tail -n 3 "$TC_TMP/$other.log")"
fi
is "$(q "SELECT instance_id IS NULL FROM alerter_state")" t "and hands the alerts over"
problems=$(grep -hE 'level=error|AddressSanitizer|runtime error|Segmentation|LeakSanitizer' "$TC_TMP"/al1.log "$TC_TMP"/al2.log | head -n 5)
is "$problems" "" "no errors, crashes or sanitizer reports (leaks at exit too) in the logs"
tc_stop_servers || true

plan "$tap_n"
done_testing
