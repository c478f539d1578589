-- GET /v1/incidents: a projection of the incident stream (this service's own events).
CREATE TABLE incident_list (
    id text PRIMARY KEY,
    position bigint NOT NULL,
    title text NOT NULL,
    aspect text NOT NULL,
    status text NOT NULL,
    severity integer NOT NULL,
    manager text NOT NULL,
    declared_at timestamptz NOT NULL
);
CREATE INDEX incident_list_position ON incident_list (position DESC);
