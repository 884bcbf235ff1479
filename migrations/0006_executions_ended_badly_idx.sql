-- 0006: the runs that went wrong, found without walking the whole history.
--
-- Operators look for failures far more often than for successes, and
-- failures are few: listing them newest first through executions_started_idx
-- reads every success in between.  This partial index holds only the runs
-- that ended badly.  A run enters it once, when it ends so; starting a run
-- (status running) and ending it well never touch it, so the schedulers'
-- hot path pays nothing for it.
CREATE INDEX executions_ended_badly_idx ON executions (started_at DESC, id DESC)
    WHERE status IN ('failed', 'timed_out', 'killed', 'abandoned');
COMMENT ON INDEX executions_ended_badly_idx IS
    'Executions that failed, timed out, were killed or abandoned, newest first';
