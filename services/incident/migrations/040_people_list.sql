-- GET /v1/people: a projection of the people's events on this service's own stream (warroom.person.*,
-- applied by the incident-list consumer), seeded from the event store when empty (people_list.py).
CREATE TABLE people_list (
    id text PRIMARY KEY,
    version integer NOT NULL,  -- the person's aggregate version (an event's sequence): never moves back
    name text NOT NULL,
    email text NOT NULL,
    groups jsonb NOT NULL DEFAULT '[]',
    active boolean NOT NULL DEFAULT true,
    person jsonb NOT NULL  -- as registered or last edited (what GET /v1/people/{id} shows)
);
-- The list's order, which its cursor follows: by name as people read it, then id.
CREATE INDEX people_list_order ON people_list (lower(name), id);

-- When each token was last used: not an event (one per request would swamp the store), written at
-- most once a minute per token and replica (services/incident/token_usage.py); never the token (S11).
CREATE TABLE token_usage (
    token_id text PRIMARY KEY,
    last_used_at timestamptz NOT NULL
);
