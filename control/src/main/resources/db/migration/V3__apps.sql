-- Workspace apps (issue 5, docs/apps.md): port shares with their access level, one-time
-- handoff codes of the browser login flow (stored as SHA-256 digests), and global settings.

-- a port of an agent that is shared; a port without a row is open to its owner only
CREATE TABLE port_shares (
  agent_id   BIGINT      NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  port       INTEGER     NOT NULL CHECK (port BETWEEN 1 AND 65535),
  https      BOOLEAN     NOT NULL DEFAULT FALSE,
  level      TEXT        NOT NULL CHECK (level IN ('owner', 'authenticated', 'public')),
  created_by BIGINT      REFERENCES users (id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, port)
);

-- one-time codes that carry a login session to an app host; single use, about 60 s
CREATE TABLE app_handoffs (
  code_hash  BYTEA       PRIMARY KEY,
  session_id BIGINT      NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  app        TEXT        NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL,
  used_at    TIMESTAMPTZ
);
CREATE INDEX app_handoffs_expires_idx ON app_handoffs (expires_at);

-- settings an admin changes at run time (the config file holds the rest)
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('max_share_level', 'public');
