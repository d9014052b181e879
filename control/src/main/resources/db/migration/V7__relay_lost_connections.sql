-- Issue 9 (faults), follow-up: the control plane ends the open connection records of a relay
-- that is gone (its heartbeat expired, or a new process of it registered) with close reason
-- 'relay-lost' (docs/api.md "The connection log").
-- instance_id: a relay process names itself at registration (a UUID per start); a registration
-- of the same replica with another instance id means the process that held its connections is
-- gone. NULL for relays that do not send one.
ALTER TABLE relay_replicas ADD COLUMN instance_id TEXT;
-- lost_at: when the control plane ended the record as relay-lost (NULL otherwise). Such an end
-- is the control plane's guess: a real completion from the relay arriving later replaces it.
ALTER TABLE connections ADD COLUMN lost_at TIMESTAMPTZ;
-- the open records of a replica, found quickly whatever the size of the log
CREATE INDEX connections_open_idx ON connections (region, replica_id) WHERE ended_at IS NULL;
