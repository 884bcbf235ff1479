-- 0002_logins.sql - slowing down password guessing.
--
-- Failed logins are counted per user in the database, so that every API
-- instance behind a load balancer sees the same count: after a few
-- failures a login is refused, without checking the password, until
-- login_blocked_until, a pause that doubles with each further failure.

ALTER TABLE users
    ADD COLUMN failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    ADD COLUMN login_blocked_until timestamptz;
COMMENT ON COLUMN users.failed_logins IS
    'Failed password logins since the last successful one';
COMMENT ON COLUMN users.login_blocked_until IS
    'Password logins are refused until this time (set after repeated failures); NULL: not blocked';
