#!/bin/sh
# run_fuzz_job_config.sh - fuzz the task config parsers and base64.
exec sh "${TC_SRCDIR:-${srcdir:-.}}/tests/fuzz/run_fuzz.sh" fuzz_job_config \
    "job_config.c base64.c" -ljansson
