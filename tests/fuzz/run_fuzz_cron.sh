#!/bin/sh
# run_fuzz_cron.sh - fuzz the schedule parsers (cron, @every, zones).
exec sh "${TC_SRCDIR:-${srcdir:-.}}/tests/fuzz/run_fuzz.sh" fuzz_cron \
    "cron.c tz.c schedule.c duration.c"
