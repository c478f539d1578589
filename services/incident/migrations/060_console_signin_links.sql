-- The console's one-time sign-in links sent by email: the link's secret is kept hashed (S11), valid
-- 15 minutes, and used once (used_at set by the sign-in that consumed it; rows past expiry are deleted).
CREATE TABLE console_signin_links (
    secret_hash text PRIMARY KEY,
    person_id text NOT NULL,
    next_path text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX console_signin_links_expiry ON console_signin_links (expires_at);
