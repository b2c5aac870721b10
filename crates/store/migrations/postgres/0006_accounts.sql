-- Accounts: an agent signs in with email and password, gets a session (a cookie whose SHA-256
-- is stored), may be an admin, and is set up or reset through single-use links; what admins and
-- the CLI do is kept in an audit log.

ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent'));
-- The password's hash, in the caller's format; NULL until the agent has set a password.
ALTER TABLE agents ADD COLUMN password_hash TEXT;

-- Emails are one account whatever their case: the store keeps them with ASCII letters
-- lowercased and looks them up the same way. Earlier emails are brought in line (the CLI always
-- lowercased them; two that differ only in case would stop this migration on the UNIQUE rule,
-- for an operator to resolve), and the index makes the rule the database's own. lower() under
-- the "C" collation folds ASCII letters only, as SQLite's lower() does, whatever the database's
-- locale.
UPDATE agents SET email = lower(email COLLATE "C") WHERE email <> lower(email COLLATE "C");
CREATE UNIQUE INDEX agents_email_folded ON agents (lower(email COLLATE "C"));

CREATE TABLE sessions (
    id           BIGSERIAL PRIMARY KEY,
    agent_id     BIGINT NOT NULL REFERENCES agents (id),
    -- SHA-256 (hex) of the cookie value; the value itself is never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);

-- An agent's sessions, newest first (the "signed-in devices" list, revoking them all).
CREATE INDEX sessions_agent ON sessions (agent_id, id);

CREATE TABLE account_links (
    id         BIGSERIAL PRIMARY KEY,
    agent_id   BIGINT NOT NULL REFERENCES agents (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('setup', 'invite', 'reset')),
    -- SHA-256 (hex) of the link's token.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    -- NULL when the CLI or Parley itself acted.
    actor_id   BIGINT REFERENCES agents (id),
    action     TEXT NOT NULL,
    target     TEXT,
    ip         TEXT,
    -- JSON text, kept as written (not JSONB), the same in both databases.
    detail     TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
