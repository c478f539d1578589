-- S7: one token bucket per caller (sha256 of the bearer token), shared by every replica.
CREATE TABLE rate_limits (
    caller      bytea            PRIMARY KEY,
    tokens      double precision NOT NULL,  -- left after the last request, at refilled_at
    refilled_at timestamptz      NOT NULL,
    allowed     boolean          NOT NULL   -- whether that last request was let through
);
