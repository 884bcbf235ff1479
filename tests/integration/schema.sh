# schema.sh - the schema is documented and refuses bad states.
. "$TC_SRCDIR/tests/lib.sh"
plan 18

"$TABLECRON" migrate >/dev/null 2>&1 || { echo "Bail out! migrate failed"; exit 1; }

is "$(q "SELECT string_agg(c.relname || '.' || a.attname, ', ')
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'v')
            AND col_description(c.oid, a.attnum) IS NULL")" "" \
    "every column of every table and view has a comment"
is "$(q "SELECT string_agg(relname, ', ') FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
          WHERE relkind IN ('r', 'v') AND obj_description(c.oid, 'pg_class') IS NULL")" "" \
    "every table and view has a comment"
like "$(psql -X -c '\d+ jobs')" 'lease_until .*The claim expires' "psql \\d+ jobs shows the comments"

insert_job() {
    q "INSERT INTO jobs (name, schedule, kind, config $1) VALUES ('$2', '* * * * *', $3, '{}' $4)"
}
run_ok "a plain SQL job insert works" insert_job "" j1 "'shell'" ""
is "$(q "SELECT status, version, department_id, timezone, next_time IS NULL FROM jobs WHERE name = 'j1'")" \
    "waiting|1|1|UTC|t" "defaults: waiting, version 1, default department, UTC, not yet scheduled"
run_status 1 "an invalid status is rejected" insert_job ", status" j2 "'shell'" ", 'sleeping'"
like "$TC_OUT" 'jobs_status_check' "... by the status check"
run_status 1 "an invalid kind is rejected" insert_job "" j3 "'python'" ""
like "$TC_OUT" 'jobs_kind_check' "... by the kind check"
run_ok "a noop job is accepted by the kind check (0004_noop_kind.sql)" insert_job "" j5 "'noop'" ""
like "$(psql -X -c '\d+ jobs')" 'kind .*shell, http, grpc or noop' "and the kind column's comment lists it"
q "DELETE FROM jobs WHERE name = 'j5'" >/dev/null
run_status 1 "a running job without a lease is rejected" \
    q "UPDATE jobs SET status = 'running' WHERE name = 'j1'"
run_status 1 "config must be a JSON object" \
    q "INSERT INTO jobs (name, schedule, kind, config) VALUES ('j4', '@daily', 'shell', '[1]')"

jid=$(q "SELECT id FROM jobs WHERE name = 'j1'")
q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id)
   VALUES ($jid, '2026-01-01T00:00:00Z', 1, 'i1')" >/dev/null
run_status 1 "the same fire time and attempt cannot start twice" \
    q "INSERT INTO executions (job_id, scheduled_for, attempt, instance_id)
       VALUES ($jid, '2026-01-01T00:00:00Z', 1, 'i2')"
run_status 1 "a finished execution needs finished_at" \
    q "UPDATE executions SET status = 'succeeded' WHERE job_id = $jid"

# Editing the schedule by hand forgets next_time so that instances recompute it.
q "UPDATE jobs SET next_time = now() + interval '1 hour' WHERE id = $jid" >/dev/null
q "UPDATE jobs SET schedule = '@hourly' WHERE id = $jid" >/dev/null
is "$(q "SELECT next_time IS NULL FROM jobs WHERE id = $jid")" "t" \
    "a schedule edited in SQL clears next_time"

# The due query walks the partial index, whatever the table size.
q "INSERT INTO jobs (name, schedule, kind, next_time)
   SELECT 'bulk' || g, '@hourly', 'shell', now() + g * interval '1 second'
     FROM generate_series(1, 20000) g; ANALYZE jobs" >/dev/null
like "$(q "EXPLAIN SELECT id, version FROM jobs
            WHERE status = 'waiting' AND next_time <= now() ORDER BY next_time LIMIT 100")" \
    'Index Scan using jobs_due_idx' "the due query uses the partial index jobs_due_idx"
is "$(q "SELECT count(*) FROM job_overview") $(q "SELECT count(*) FROM recent_failures")" \
    "20001 0" "the views job_overview and recent_failures answer"

done_testing
