-- A replica takes a few of a caller's tokens at once (shared/ratelimit.py's leases): how many the
-- last take granted, beside whether it allowed the request.
ALTER TABLE rate_limits ADD COLUMN IF NOT EXISTS granted integer NOT NULL DEFAULT 1;
-- A bucket is not worth a WAL record or a flush per request: after a crash PostgreSQL empties the
-- table, and every bucket starts full again, which a rate limit may do.
ALTER TABLE rate_limits SET UNLOGGED;
