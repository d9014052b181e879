-- Relaymesh control plane: initial schema.
-- Secrets (session, agent and relay tokens) are stored only as SHA-256 digests; passwords as
-- Argon2id hashes in PHC string format. All times are timestamptz and compared with the
-- database clock, so several control-plane replicas may share this database.

CREATE TABLE users (
  id            BIGSERIAL PRIMARY KEY,
  username      TEXT        NOT NULL UNIQUE,
  password_hash TEXT        NOT NULL,
  is_admin      BOOLEAN     NOT NULL DEFAULT FALSE,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
  id           BIGSERIAL PRIMARY KEY,
  token_hash   BYTEA       NOT NULL UNIQUE,
  user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at   TIMESTAMPTZ NOT NULL,
  revoked_at   TIMESTAMPTZ,
  created_from TEXT
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- failed logins, for rate limiting per user and per client address across replicas
CREATE TABLE login_failures (
  id        BIGSERIAL PRIMARY KEY,
  username  TEXT        NOT NULL,
  address   TEXT        NOT NULL,
  failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_user_idx ON login_failures (username, failed_at);
CREATE INDEX login_failures_address_idx ON login_failures (address, failed_at);

CREATE TABLE workspaces (
  id         BIGSERIAL PRIMARY KEY,
  owner_id   BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name       TEXT        NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (owner_id, name)
);

CREATE TABLE agents (
  id           BIGSERIAL PRIMARY KEY,
  workspace_id BIGINT      NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  name         TEXT        NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

-- deleting a workspace deletes its agents and therefore their tokens (revocation)
CREATE TABLE agent_tokens (
  id         BIGSERIAL PRIMARY KEY,
  agent_id   BIGINT      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  token_hash BYTEA       NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ
);

CREATE TABLE regions (
  id         BIGSERIAL PRIMARY KEY,
  name       TEXT        NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE relay_tokens (
  id         BIGSERIAL PRIMARY KEY,
  region_id  BIGINT      NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
  token_hash BYTEA       NOT NULL UNIQUE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ
);

CREATE TABLE relay_replicas (
  region_id         BIGINT      NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
  replica_id        TEXT        NOT NULL,
  public_url        TEXT        NOT NULL,
  apps_host         TEXT,
  peer_address      TEXT,
  version           TEXT,
  registered_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (region_id, replica_id)
);

-- which relay replicas currently hold a tunnel of which agent
CREATE TABLE agent_presence (
  agent_id     BIGINT      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  region_id    BIGINT      NOT NULL,
  replica_id   TEXT        NOT NULL,
  connected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, region_id, replica_id),
  FOREIGN KEY (region_id, replica_id) REFERENCES relay_replicas (region_id, replica_id)
    ON DELETE CASCADE
);

-- ticket signing keys; a retired key stays published until publish_until
CREATE TABLE signing_keys (
  kid           TEXT PRIMARY KEY,
  algorithm     TEXT        NOT NULL,
  private_jwk   TEXT        NOT NULL,
  public_jwk    TEXT        NOT NULL,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  retired_at    TIMESTAMPTZ,
  publish_until TIMESTAMPTZ
);

-- connection log; names are copied so that history survives deletes
CREATE TABLE connections (
  id             BIGSERIAL PRIMARY KEY,
  username       TEXT        NOT NULL,
  workspace      TEXT        NOT NULL,
  agent          TEXT        NOT NULL,
  port           INTEGER,
  app            TEXT,
  region         TEXT        NOT NULL,
  replica_id     TEXT        NOT NULL,
  client_address TEXT,
  ticket_id      TEXT,
  started_at     TIMESTAMPTZ NOT NULL,
  ended_at       TIMESTAMPTZ,
  bytes_in       BIGINT      NOT NULL DEFAULT 0,
  bytes_out      BIGINT      NOT NULL DEFAULT 0,
  close_reason   TEXT,
  recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX connections_started_idx ON connections (started_at DESC);
