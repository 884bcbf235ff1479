-- 0007: sharded jobs.
--
-- A job with shards = N > 1 starts N executions per fire time.  The job's
-- own row runs shard 0; shard rows (shard_of = the job, shard_index 1..N-1)
-- run the others, each claimed by the ordinary protocol, so shards spread
-- over whichever instances have room and are retried one by one.  All
-- executions are recorded under the job itself, with their shard_index.
ALTER TABLE jobs
    ADD COLUMN shards integer NOT NULL DEFAULT 1 CHECK (shards BETWEEN 1 AND 1000),
    ADD COLUMN shard_of bigint REFERENCES jobs (id) ON DELETE CASCADE,
    ADD COLUMN shard_index integer NOT NULL DEFAULT 0 CHECK (shard_index >= 0);
COMMENT ON COLUMN jobs.shards IS
    'How many executions each fire time starts (TABLECRON_SHARD_COUNT); 1: not sharded';
COMMENT ON COLUMN jobs.shard_of IS
    'For a shard row: the sharded job it runs a shard of; NULL for a job';
COMMENT ON COLUMN jobs.shard_index IS
    'Which shard this row runs (TABLECRON_SHARD_INDEX): 0 for the job itself';
ALTER TABLE executions ADD COLUMN shard_index integer NOT NULL DEFAULT 0 CHECK (shard_index >= 0);
COMMENT ON COLUMN executions.shard_index IS
    'Which shard of the job''s fire time this run is (0 when the job is not sharded)';
ALTER TABLE executions
    DROP CONSTRAINT executions_once,
    ADD CONSTRAINT executions_once UNIQUE (job_id, scheduled_for, shard_index, attempt);
