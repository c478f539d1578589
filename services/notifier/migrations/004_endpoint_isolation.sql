-- F14: a dead, refusing or hanging endpoint never delays deliveries to anyone else.
-- circuit: the endpoint a delivery shares its health with (a URL's origin, or 'smtp');
-- priority: 0 pages and escalations, 1 other notices to people, 2 copies for other systems;
-- held: parked with its endpoint, so the claim query never even sees it.
ALTER TABLE deliveries
    ADD COLUMN circuit text,
    ADD COLUMN priority smallint NOT NULL DEFAULT 1,
    ADD COLUMN held boolean NOT NULL DEFAULT false;
UPDATE deliveries SET
    circuit = CASE WHEN target IS NULL THEN NULL WHEN channel = 'email' THEN 'smtp'
                   ELSE lower(substring(target FROM '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+')) END,
    priority = CASE WHEN channel IN ('subscription', 'issue_tracker') THEN 2
                    WHEN reason IN ('paged', 'escalated') THEN 0 ELSE 1 END;

-- What the claim query walks: due deliveries, most urgent first, parked ones left out.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_claim ON deliveries (priority, next_attempt_at, position)
    WHERE state = 'pending' AND NOT held;
-- An endpoint's pending deliveries, to park, probe and release them together.
CREATE INDEX deliveries_by_circuit ON deliveries (circuit, priority, next_attempt_at)
    WHERE state = 'pending';

-- Each endpoint that ever failed: its circuit breaker, shared by every replica.
-- closed: delivered to as usual; open: parked until parked_until, its deliveries held;
-- half_open: one delivery released as the probe, whose outcome closes or parks it again.
CREATE TABLE circuits (
    circuit text PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    failures integer NOT NULL,            -- consecutive failed attempts
    parks integer NOT NULL DEFAULT 0,     -- consecutive parkings: each lasts longer
    parked_until timestamptz,
    last_error text,
    changed_at timestamptz NOT NULL
);
