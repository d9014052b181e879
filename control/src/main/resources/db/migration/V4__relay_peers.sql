-- Multi-region (issue 6): relay-to-relay forwarding.
-- A replica registers the SHA-256 fingerprint of its TLS certificate so that a peer relay can
-- pin a self-signed certificate; the connection log says through which relay a forwarded
-- connection came ("peer us/us-1") or went ("forwarded to eu/eu-1").
ALTER TABLE relay_replicas ADD COLUMN tls_fingerprint TEXT;
ALTER TABLE connections ADD COLUMN via TEXT;
