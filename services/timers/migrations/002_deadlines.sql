-- Every deadline of the process: what an incident's timers depend on besides its manager.
ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents
    ADD CONSTRAINT incidents_status_check CHECK (status IN ('open', 'resolved', 'closed')),
    -- The current level, and when the incident changed to it (or was declared at it): R13, R14.
    ADD COLUMN severity integer NOT NULL DEFAULT 1,
    ADD COLUMN level_since timestamptz NOT NULL DEFAULT now(),
    -- The declaration or the last public update: R06/R08's public cadence counts from it.
    ADD COLUMN public_since timestamptz NOT NULL DEFAULT now();
ALTER TABLE incidents ALTER COLUMN severity DROP DEFAULT, ALTER COLUMN level_since DROP DEFAULT,
    ALTER COLUMN public_since DROP DEFAULT;

-- A cadence's timer: once fired, it is due again `every` later, until something cancels it.
ALTER TABLE timers ADD COLUMN every interval;

-- New timers wake the schedulers of every replica (LISTEN warroom_timers_scheduled) when their
-- transaction commits; notifications of one transaction are delivered once.
CREATE FUNCTION notify_timers_scheduled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('warroom_timers_scheduled', '');
    RETURN NULL;
END $$;
CREATE TRIGGER timers_scheduled AFTER INSERT ON timers FOR EACH STATEMENT EXECUTE FUNCTION notify_timers_scheduled();

-- The incident's workers, each with their last status request, update or joining (R06).
CREATE TABLE workers (
    incident_id text NOT NULL,
    person text NOT NULL,
    status_since timestamptz NOT NULL,
    PRIMARY KEY (incident_id, person)
);

-- Checklist steps done, per level (R14): a level the incident returns to does not ask them again.
CREATE TABLE steps_done (
    incident_id text NOT NULL,
    level integer NOT NULL,
    step text NOT NULL,
    PRIMARY KEY (incident_id, level, step)
);

-- People's time on open incidents, per role and incident: managing for R05's tenure, working for
-- R19's freshness; both are counted across all incidents.
CREATE TABLE stretches (
    person text NOT NULL,
    role text NOT NULL CHECK (role IN ('manager', 'worker')),
    incident_id text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX stretches_of_person ON stretches (person, role, started_at);
CREATE UNIQUE INDEX stretches_lasting ON stretches (person, role, incident_id) WHERE ended_at IS NULL;
