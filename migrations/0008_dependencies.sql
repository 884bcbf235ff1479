-- 0008: job dependencies (workflows).
--
-- A run that ends can make downstream jobs due at once; their runs are for
-- the same fire time as the run that triggered them (so the executions_once
-- constraint keeps a chain to one run per fire time, however many instances
-- race), and record which execution triggered them.
ALTER TABLE jobs ADD COLUMN triggered_by bigint;
COMMENT ON COLUMN jobs.triggered_by IS
    'Execution that made the run at next_time due (an upstream job''s run); NULL for a scheduled run';
ALTER TABLE executions ADD COLUMN triggered_by bigint REFERENCES executions (id) ON DELETE SET NULL;
COMMENT ON COLUMN executions.triggered_by IS
    'The upstream execution whose end started this run (job dependencies); NULL otherwise';
CREATE INDEX executions_triggered_by_idx ON executions (triggered_by) WHERE triggered_by IS NOT NULL;
