-- The draft's facts and who held which role when are now folded from the timeline whenever the
-- post-mortem is read (services/postmortem/domain.py). The projection is the timeline alone,
-- append-only, so live processing and a rebuild from the streams write the very same rows.
DROP TABLE participants;
DROP TABLE postmortems;

-- What people write — never touched by the projection, never rebuilt. One row per post-mortem
-- that someone wrote to or published; every writer locks it first, so an edit and the
-- publication that freezes the report never interleave.
CREATE TABLE postmortems (
    incident_id text PRIMARY KEY,
    state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    published_at timestamptz,
    published_by text,
    -- The report as it was published (JSON of GET /v1/postmortems/{id}): served as is from then on.
    document jsonb,
    action_items_numbered integer NOT NULL DEFAULT 0
);

-- Every edit of a narrative section, kept: the section shows the latest, the history all of them.
CREATE TABLE section_edits (
    id bigserial PRIMARY KEY,
    incident_id text NOT NULL REFERENCES postmortems,
    section text NOT NULL,
    text text NOT NULL,
    author text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX section_edits_by_postmortem ON section_edits (incident_id, id);

-- Action items, numbered 1, 2, 3 … per post-mortem. A process refinement carries its change
-- (a JSON merge patch) and, once applied, the process version that applying it published (R17).
CREATE TABLE action_items (
    incident_id text NOT NULL REFERENCES postmortems,
    id integer NOT NULL,
    title text NOT NULL,
    owner text NOT NULL,
    due date NOT NULL,
    kind text NOT NULL CHECK (kind IN ('prevention', 'handling', 'process_refinement')),
    change jsonb,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    applied_version integer,
    applied_at timestamptz,
    applied_by text,
    PRIMARY KEY (incident_id, id)
);
