-- Parley's tables on SQLite.
--
-- Timestamps are TEXT in RFC 3339, always UTC with a `+00:00` offset (the application writes
-- them; the defaults only serve hand-made rows), so they compare and sort correctly as text.
-- `AUTOINCREMENT` keeps ids from ever being reused, so message ids only grow and serve as the
-- polling cursor. JSON values are TEXT.

CREATE TABLE widgets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    settings        TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    revoked_at      TEXT
);

CREATE TABLE agents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))
);

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    widget_id          INTEGER NOT NULL REFERENCES widgets (id),
    visitor_name       TEXT,
    visitor_email      TEXT,
    visitor_token_hash TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'bot' CHECK (status IN ('bot', 'human', 'closed')),
    assigned_agent_id  INTEGER REFERENCES agents (id),
    page_url           TEXT,
    user_agent         TEXT,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))
);

-- The dashboard's inbox: a widget's conversations, most recently updated first.
CREATE INDEX conversations_widget_updated ON conversations (widget_id, updated_at);

CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    storage_name    TEXT NOT NULL UNIQUE,
    original_name   TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL CHECK (size_bytes >= 0),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('visitor', 'bot', 'agent', 'system')),
    sender_name     TEXT,
    message         TEXT NOT NULL,
    attachment_id   INTEGER REFERENCES attachments (id),
    is_voice        BOOLEAN NOT NULL DEFAULT FALSE,
    -- The sender's idempotency key. NULLs are distinct, so messages without one never clash.
    client_id       TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    UNIQUE (conversation_id, client_id)
);

-- Polling: a conversation's messages after a cursor, in id order.
CREATE INDEX messages_conversation_id ON messages (conversation_id, id);

CREATE TABLE read_states (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    reader          TEXT NOT NULL,
    last_read_id    INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, reader)
);

CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    reactor    TEXT NOT NULL,
    emoji      TEXT NOT NULL,
    PRIMARY KEY (message_id, reactor, emoji)
);
