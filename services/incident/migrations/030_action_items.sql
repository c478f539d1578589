-- R17: the action items recorded on post-mortems, as the post-mortem stream tells them
-- (warroom.postmortem.action_item_added.v1): a refinement applies only as recorded here.
CREATE TABLE action_items (
    incident_id text NOT NULL,
    item_id integer NOT NULL,
    kind text NOT NULL,
    change jsonb,
    PRIMARY KEY (incident_id, item_id)
);
