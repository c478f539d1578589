-- The hash-chained history (S8; services/incident/chain.py). The relay's record of the last event it
-- published of each incident, written with its checkpoint (published_heads.py): the integrity check
-- compares the chain recomputed from the store with it.
CREATE TABLE published_heads (
    incident_id uuid PRIMARY KEY,
    sequence integer NOT NULL,
    chainhash text NOT NULL
);

-- Once per store, at start-up: the incident events stored before the chain existed given their chainhash
-- (chain_backfill.py). A row here says it is done.
CREATE TABLE chain_backfill (
    id integer PRIMARY KEY CHECK (id = 1),
    events bigint NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now()
);
