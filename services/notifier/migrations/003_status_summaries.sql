-- R06/R07: the workers' status updates, kept to summarise them for the observers. Part of the
-- projection: a rebuild empties it and replays the status_updated events.
CREATE TABLE status_updates (
    incident_id text NOT NULL,
    sequence bigint NOT NULL,            -- the event's sequence in its incident
    worker text NOT NULL,
    at timestamptz NOT NULL,
    learned text NOT NULL,
    tried text NOT NULL,
    outcome text NOT NULL,
    working_on text NOT NULL,
    remaining text NOT NULL,
    PRIMARY KEY (incident_id, sequence)
);

-- Each observer summary taken (one per observer_summary_due timer): the updates up to
-- through_sequence are summarised. Not part of the projection: a rebuild keeps it, like the
-- deliveries, so no later summary repeats what an earlier one said.
CREATE TABLE observer_summaries (
    event_id text PRIMARY KEY,
    incident_id text NOT NULL,
    through_sequence bigint NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX observer_summaries_by_incident ON observer_summaries (incident_id, through_sequence);
