-- The last notification id the relay published and JetStream acknowledged.
CREATE TABLE relay_checkpoint (
    id integer PRIMARY KEY CHECK (id = 1),
    position bigint NOT NULL
);
INSERT INTO relay_checkpoint (id, position) VALUES (1, 0);
