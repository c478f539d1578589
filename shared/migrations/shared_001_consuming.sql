-- Every event applied by this service, recorded in the transaction that applied it.
CREATE TABLE processed_events (
    event_id text PRIMARY KEY,
    type text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- The last sequence applied per aggregate, so one aggregate's events apply in order.
CREATE TABLE applied_sequences (
    stream text NOT NULL,
    subject text NOT NULL,
    last_sequence bigint NOT NULL,
    PRIMARY KEY (stream, subject)
);

-- Poison messages: failed max_deliver times, kept here to be seen and counted, then acknowledged.
CREATE TABLE parked_events (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL,
    event_id text,
    type text,
    body text NOT NULL,
    error text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now()
);

-- Events this service produces, written with the state change that caused them, then published.
CREATE TABLE outbox (
    position bigserial PRIMARY KEY,
    event jsonb NOT NULL,
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
