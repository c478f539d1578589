-- The incidents this service follows: just enough to plan their timers.
CREATE TABLE incidents (
    id text PRIMARY KEY,
    process_version integer NOT NULL,
    manager text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'resolved'))
);

-- Every timer ever planned. Ids derive from (causing event id, kind), so a redelivered or
-- replayed event plans the same rows again and inserting them is a no-op.
CREATE TABLE timers (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    incident_id text NOT NULL,
    person text,
    due_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'cancelled')),
    fired_at timestamptz,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX timers_pending_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_by_incident ON timers (incident_id, due_at);

-- The latest event time applied from the incident stream. The scheduler fires a timer only
-- once every event before its due time has been applied, so a replay that is still catching
-- up never fires a timer that a later event cancelled.
CREATE TABLE applied_until (
    consumer text PRIMARY KEY,
    event_time timestamptz NOT NULL
);
