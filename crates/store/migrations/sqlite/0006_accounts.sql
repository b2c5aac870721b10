-- Accounts: an agent signs in with email and password, gets a session (a cookie whose SHA-256
-- is stored), may be an admin, and is set up or reset through single-use links; what admins and
-- the CLI do is kept in an audit log.

ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent'));
-- The password's hash, in the caller's format; NULL until the agent has set a password.
ALTER TABLE agents ADD COLUMN password_hash TEXT;

-- Emails are one account whatever their case: the store keeps them with ASCII letters
-- lowercased and looks them up the same way. Earlier emails are brought in line (the CLI always
-- lowercased them; two that differ only in case would stop this migration on the UNIQUE rule,
-- for an operator to resolve), and the index makes the rule the database's own. SQLite's
-- lower() folds ASCII letters only, as the PostgreSQL migration's `COLLATE "C"` does.
UPDATE agents SET email = lower(email) WHERE email <> lower(email);
CREATE UNIQUE INDEX agents_email_folded ON agents (lower(email));

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id     INTEGER NOT NULL REFERENCES agents (id),
    -- SHA-256 (hex) of the cookie value; the value itself is never stored.
    token_hash   TEXT NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    revoked_at   TEXT
);

-- An agent's sessions, newest first (the "signed-in devices" list, revoking them all).
CREATE INDEX sessions_agent ON sessions (agent_id, id);

CREATE TABLE account_links (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id   INTEGER NOT NULL REFERENCES agents (id),
    purpose    TEXT NOT NULL CHECK (purpose IN ('setup', 'invite', 'reset')),
    -- SHA-256 (hex) of the link's token.
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL when the CLI or Parley itself acted.
    actor_id   INTEGER REFERENCES agents (id),
    action     TEXT NOT NULL,
    target     TEXT,
    ip         TEXT,
    -- JSON text.
    detail     TEXT,
    created_at TEXT NOT NULL
);
