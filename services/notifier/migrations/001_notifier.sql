-- The incidents as far as notices need them: what to call them, at which level, who manages.
CREATE TABLE incidents (
    id text PRIMARY KEY,
    title text NOT NULL,
    severity integer NOT NULL,
    process_version integer NOT NULL,
    manager text NOT NULL,
    status text NOT NULL
);

-- One row per (event, recipient, channel), queued in the transaction that consumed the event
-- and sent later by the delivery worker: the UNIQUE constraint is what makes a redelivered or
-- replayed event send nothing twice (F4).
CREATE TABLE deliveries (
    id text PRIMARY KEY,                 -- stable (derived from event, recipient, channel): the webhook-id
    position bigserial NOT NULL UNIQUE,  -- queueing order, for newest-first listings and cursors
    event_id text NOT NULL,
    event_type text NOT NULL,
    incident_id text,
    recipient text NOT NULL,
    channel text NOT NULL,
    reason text NOT NULL,
    target text,                         -- the URL as it was when the event happened
    payload jsonb NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped', 'refused')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    UNIQUE (event_id, recipient, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_incident ON deliveries (incident_id, position);
CREATE INDEX deliveries_by_recipient ON deliveries (recipient, position);

-- Every attempt to send a delivery, kept for the operators and the receivers' complaints.
CREATE TABLE delivery_attempts (
    delivery_id text NOT NULL REFERENCES deliveries (id),
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    status_code integer,
    error text,
    PRIMARY KEY (delivery_id, attempt)
);
