-- 0009: missed fire times are recorded, not only logged.
--
-- When no instance ran a job within the misfire grace of its fire time (all
-- down, or all busy), the misfire policy skips those fire times.  The
-- instance that then wins the job records them as one 'misfired' execution
-- for the first of them, in the statement that moves the job on (or right
-- after its claim): operators see the gap in the history, and alert rules on
-- 'misfired' fire.  Such a row never ran: started_at = finished_at, and it
-- does not count as an outcome of its fire time (workflows ignore it).
ALTER TABLE executions
    DROP CONSTRAINT executions_status_check,
    ADD CONSTRAINT executions_status_check
        CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'killed', 'abandoned',
                          'misfired'));
COMMENT ON COLUMN executions.status IS
    'running, succeeded, failed, timed_out, killed (on request), '
    'abandoned (its instance died or lost the lease), '
    'misfired (fire times skipped by the misfire policy: never ran; error says how many)';
