-- This service's projection of the organisation, from the incident stream:
-- who people are (contact data), which token hashes authenticate them, the process.
CREATE TABLE people (
    id text PRIMARY KEY,
    data jsonb NOT NULL,
    admin boolean NOT NULL DEFAULT false
);

CREATE TABLE tokens (
    id text PRIMARY KEY,
    person_id text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    revoked boolean NOT NULL DEFAULT false
);

CREATE TABLE process_versions (
    version integer PRIMARY KEY,
    document jsonb NOT NULL
);

CREATE TABLE aspects (
    aspect text PRIMARY KEY,
    smes jsonb NOT NULL
);
