# migrate.sh - tablecron migrate: creates the schema, is idempotent, safe
# when run concurrently, reports status, refuses edited or broken files.
. "$TC_SRCDIR/tests/lib.sh"
plan 18

# pg_dump marks its output with a random \restrict key: leave that out.
schema_dump() { pg_dump -s tablecron_test | grep -v '^\\\(un\)\?restrict' | md5sum; }

run_status 0 "migrate --status works on an empty database" "$TABLECRON" migrate --status
like "$TC_OUT" '^pending +- +0001_init\.sql' "--status lists 0001 as pending"

run_ok "migrate creates the schema" "$TABLECRON" migrate
newest=$(ls "$TC_SRCDIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql | sed 's|.*/||' | sort | tail -n 1)
nfiles=$(ls "$TC_SRCDIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
like "$TC_OUT" "msg=\"schema is up to date\" applied=$nfiles" "migrate says what it applied"
is "$(sed -n 's/^#define MIGRATE_SCHEMA_VERSION //p' "$TC_SRCDIR/src/migrate.h")" "$((10#${newest%%_*}))" \
    "MIGRATE_SCHEMA_VERSION (what /readyz asks for) is the newest migration, $newest"
is "$(q "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN
        ('departments','users','memberships','api_tokens','sessions','jobs','executions',
         'instances','audit_log','schema_migrations')")" 10 "all ten tables exist"

dump_before=$(schema_dump)
rows_before=$(q "SELECT version, name, checksum, applied_at FROM schema_migrations")
run_ok "a second migrate succeeds" "$TABLECRON" migrate
like "$TC_OUT" 'already up to date" applied=0' "the second run applies nothing"
is "$(schema_dump)" "$dump_before" "the schema is unchanged"
is "$(q "SELECT version, name, checksum, applied_at FROM schema_migrations")" "$rows_before" \
    "schema_migrations is unchanged"

run_ok "--status after migrate" "$TABLECRON" migrate --status
like "$TC_OUT" '^applied +[0-9-]+T[0-9:]+Z +0001_init\.sql' "--status lists 0001 as applied"

# Two concurrent runs on a fresh database: both succeed, each file once.
psql -X -q -d postgres -c 'CREATE DATABASE concurrent' >/dev/null
"$TABLECRON" --db "dbname=concurrent" migrate >"$TC_TMP/m1.log" 2>&1 &
p1=$!
"$TABLECRON" --db "dbname=concurrent" migrate >"$TC_TMP/m2.log" 2>&1 &
p2=$!
wait $p1; s1=$?
wait $p2; s2=$?
is "$s1 $s2" "0 0" "two concurrent migrate runs both succeed"
is "$(q 'SELECT count(*), count(DISTINCT version) FROM schema_migrations' -d concurrent)" "$nfiles|$nfiles" \
    "each migration was applied once"

# A new migration that fails leaves nothing behind and stops the run.
cp -r "$TC_SRCDIR/migrations" "$TC_TMP/mig"
chmod -R u+w "$TC_TMP/mig"
printf 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n' >"$TC_TMP/mig/9998_broken.sql"
run_status 1 "a failing migration makes migrate fail" \
    "$TABLECRON" migrate --migrations-dir "$TC_TMP/mig"
is "$(q "SELECT to_regclass('half_done') IS NULL, (SELECT count(*) FROM schema_migrations)")" \
    "t|$nfiles" "nothing of the failing migration was applied"

# A released file that was edited afterwards is reported, not skipped.
rm "$TC_TMP/mig/9998_broken.sql"
echo "-- edited" >>"$TC_TMP/mig/0001_init.sql"
run_status 1 "an edited released migration is refused" \
    "$TABLECRON" migrate --migrations-dir "$TC_TMP/mig"
like "$TC_OUT" 'migration changed after it was applied.*file=0001_init.sql' \
    "the error names the edited file"

done_testing
