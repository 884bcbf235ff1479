-- 0003_callbacks.sql - long-running HTTP tasks that report back.
--
-- An HTTP task whose endpoint answers 202 Accepted keeps running after the
-- request: its instance lets go of it (awaiting_callback), the service
-- reports progress and the result to the API with the execution's secret,
-- and any instance finishes the job once the result is in or the reports
-- stopped for timeout_s (the lease then runs out).

ALTER TABLE jobs
    ADD COLUMN awaiting_callback boolean NOT NULL DEFAULT false,
    ADD COLUMN resume_params jsonb,
    ADD CONSTRAINT jobs_callback_only_running CHECK (NOT awaiting_callback OR status = 'running');
COMMENT ON COLUMN jobs.awaiting_callback IS
    'The running HTTP task answered 202: no instance runs it, its reports to '
    '/api/v1/executions/{id}/progress renew lease_until, and the job ends when the '
    'result arrives or the reports stop for timeout_s';
COMMENT ON COLUMN jobs.resume_params IS
    'Parameters a task asked its next attempt to get ("rebalance" report); '
    'sent as X-Tablecron-Resume / TABLECRON_RESUME, cleared when the fire time is done';

ALTER TABLE executions
    ADD COLUMN callback_token_hash text,
    ADD COLUMN message text;
COMMENT ON COLUMN executions.callback_token_hash IS
    'SHA-256 of the secret an HTTP task was given (X-Tablecron-Token) to report on this execution';
COMMENT ON COLUMN executions.message IS 'The last progress message a long-running task reported';
