-- What the level policies need of an incident: its roles, and everyone who ever took part.
ALTER TABLE incidents
    ADD COLUMN aspect text NOT NULL DEFAULT '',
    ADD COLUMN smes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN workers text[] NOT NULL DEFAULT '{}',
    ADD COLUMN observers text[] NOT NULL DEFAULT '{}',
    ADD COLUMN pr_manager text,
    ADD COLUMN participants text[] NOT NULL DEFAULT '{}';

-- Deliveries: deferred to the recipient's hours (not_before), kept in order per subscription and
-- incident (order_key), disabled with their endpoint (410 Gone), and redelivered by hand
-- (round_start: the attempts before the latest redelivery, so its retries count afresh).
ALTER TABLE deliveries
    ADD COLUMN not_before timestamptz,
    ADD COLUMN order_key text,
    ADD COLUMN round_start integer NOT NULL DEFAULT 0,
    DROP CONSTRAINT deliveries_state_check,
    ADD CONSTRAINT deliveries_state_check
        CHECK (state IN ('pending', 'delivered', 'failed', 'skipped', 'refused', 'disabled'));
CREATE INDEX deliveries_in_order ON deliveries (order_key, position) WHERE state = 'pending';

-- Other systems following the events (POST /v1/subscriptions), each signed with its own secrets.
CREATE TABLE subscriptions (
    id text PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,
    secrets text[] NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL
);

-- Endpoints that answered 410 Gone: a webhook URL or 'subscription:<id>'. Nothing more is sent
-- there until an admin redelivers to it.
CREATE TABLE disabled_endpoints (
    endpoint text PRIMARY KEY,
    disabled_at timestamptz NOT NULL,
    delivery_id text NOT NULL
);

-- The signing secret the notifier generated when none was configured: one row, shared by every
-- replica and kept across restarts.
CREATE TABLE signing_secrets (
    id integer PRIMARY KEY CHECK (id = 1),
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- POST retries with an Idempotency-Key get the first answer (per caller and key), recorded in the
-- transaction that does the work (the shared idempotency_keys table serves the other services).
CREATE TABLE answered_requests (
    caller text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
