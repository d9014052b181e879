-- A new signing key is published before it signs (signs_from in the future), so relays that
-- refreshed their key set shortly before a rotation already know it when the first ticket
-- signed with it arrives.
ALTER TABLE signing_keys ADD COLUMN signs_from TIMESTAMPTZ;
UPDATE signing_keys SET signs_from = created_at;
ALTER TABLE signing_keys ALTER COLUMN signs_from SET NOT NULL;
ALTER TABLE signing_keys ALTER COLUMN signs_from SET DEFAULT now();
