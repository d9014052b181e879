-- Relay token rotation (issue 7 follow-up, docs/operations.md "Rotating relay tokens"): a region
-- has several relay tokens while its relays move from the old one to a new one. To show an admin
-- that an old token is no longer used before it is revoked, the control plane records when each
-- token was last used (at most every 15 s, not on every call) and which token each registered
-- replica authenticated with at its last registration or heartbeat.
ALTER TABLE relay_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
ALTER TABLE relay_replicas ADD COLUMN token_id BIGINT
  REFERENCES relay_tokens (id) ON DELETE SET NULL;
CREATE INDEX relay_tokens_region_idx ON relay_tokens (region_id);
CREATE INDEX relay_replicas_token_idx ON relay_replicas (token_id);
