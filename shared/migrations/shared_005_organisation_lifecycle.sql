-- People are deactivated and activated again (warroom.person.deactivated.v1 / activated.v1), and
-- tokens may expire (warroom.token.issued.v1 and expiry_set.v1 carry expires_at): a deactivated
-- person's or an expired token authenticates nowhere.
ALTER TABLE people ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;
