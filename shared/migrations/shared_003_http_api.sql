-- The HTTP side every service shares: Idempotency-Key answers (F10) and per-token rate limits (S7),
-- both in PostgreSQL so that every replica of a service sees the same ones.
-- IF NOT EXISTS: the incident service had these tables under its own migrations before.

-- The first response to each (caller, Idempotency-Key), replayed to retries for 24 hours.
-- The first request holds an advisory lock on the key while the command runs, so a concurrent
-- retry waits; the row is written once, with the response, in the command's own commit where it
-- can be (the incident service's event store) or just after it (shared/idempotency.py). A response
-- carrying a secret is recorded without it (S11). status is NULL only in rows of older versions.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller      bytea       NOT NULL,  -- sha256 of the bearer token: keys are scoped per caller
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,  -- sha256 of method, path, query and body: another request → 422
    status      smallint,
    headers     jsonb,                 -- [[name, value], …] of the headers a retry must see again
    body        bytea,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);

-- One token bucket per caller (sha256 of the bearer token).
CREATE TABLE IF NOT EXISTS rate_limits (
    caller      bytea            PRIMARY KEY,
    tokens      double precision NOT NULL,  -- left after the last request, at refilled_at
    refilled_at timestamptz      NOT NULL,
    allowed     boolean          NOT NULL   -- whether that last request was let through
);
