-- Issue 9 (faults): a relay records a connection when it is established and completes the same
-- record when it ends, so a relay killed with SIGKILL leaves the record of every connection it
-- carried (with ended_at empty) instead of losing it. The relay names each record with a key
-- (a UUID) of its own; posting the same key again (a retry, or the completion) updates that
-- record instead of adding one. Keys are scoped by region and replica: a relay cannot touch
-- another region's records. Older records have no key.
ALTER TABLE connections ADD COLUMN record_key TEXT;
CREATE UNIQUE INDEX connections_record_key_idx ON connections (region, replica_id, record_key);
