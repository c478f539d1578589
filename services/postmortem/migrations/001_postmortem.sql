-- One draft post-mortem per incident, opened by its declaration (R16) and kept up to date
-- from the incident's events. Narrative, action items and publication come later.
CREATE TABLE postmortems (
    incident_id text PRIMARY KEY,
    title text NOT NULL,
    description text NOT NULL,
    aspect text NOT NULL,
    state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    declared_at timestamptz NOT NULL,
    declared_by text NOT NULL,
    initial_severity integer NOT NULL,
    severity integer NOT NULL,
    manager text NOT NULL,
    coverage_gap boolean NOT NULL DEFAULT false,
    process_version integer NOT NULL,
    resolved_at timestamptz,
    resolved_by text,
    resolution text,
    test_plan text
);

-- Every event about an incident, from any stream. Deliberately without a foreign key to
-- postmortems: timer and notifier events travel on other streams and may be applied before
-- the declaration, and a rebuild must still end up with the same timeline.
-- Summaries are rendered when read, so they always show people's current names and a
-- rebuild cannot depend on which consumer happened to run first.
CREATE TABLE timeline (
    incident_id text NOT NULL,
    at timestamptz NOT NULL,
    event_id text NOT NULL UNIQUE,
    sequence bigint NOT NULL,
    type text NOT NULL,
    actor text,
    data jsonb NOT NULL
);
CREATE INDEX timeline_by_incident ON timeline (incident_id, at, sequence, event_id);

-- Who held which role when. A manager's rows are their tenure intervals; ended_at is
-- null while the role is still held.
CREATE TABLE participants (
    incident_id text NOT NULL,
    person text NOT NULL,
    role text NOT NULL CHECK (role IN ('declarer', 'manager', 'worker', 'sme', 'observer', 'pr_manager')),
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    PRIMARY KEY (incident_id, person, role, started_at)
);
