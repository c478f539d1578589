-- Replaying parked events after a fix (python -m shared.parked replay): the command marks rows as
-- requested, the service's own consumer applies them with its handler and marks them replayed.
ALTER TABLE parked_events ADD COLUMN IF NOT EXISTS replay_requested_at timestamptz;
ALTER TABLE parked_events ADD COLUMN IF NOT EXISTS replayed_at timestamptz;
CREATE INDEX IF NOT EXISTS parked_events_replay ON parked_events (consumer, id) WHERE replay_requested_at IS NOT NULL;
