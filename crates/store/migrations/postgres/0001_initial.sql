-- Parley's tables on PostgreSQL. Same tables, columns and rules as the SQLite schema, in native
-- types: BIGSERIAL ids, TIMESTAMPTZ, JSONB.
--
-- Text that the store sorts by (readers, reactors, emoji) uses the "C" collation, so the order
-- is by bytes, exactly as SQLite's default BINARY collation sorts it.

CREATE TABLE widgets (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    allowed_origins JSONB NOT NULL DEFAULT '[]',
    settings        JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at      TIMESTAMPTZ
);

CREATE TABLE agents (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id                 BIGSERIAL PRIMARY KEY,
    widget_id          BIGINT NOT NULL REFERENCES widgets (id),
    visitor_name       TEXT,
    visitor_email      TEXT,
    visitor_token_hash TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'bot' CHECK (status IN ('bot', 'human', 'closed')),
    assigned_agent_id  BIGINT REFERENCES agents (id),
    page_url           TEXT,
    user_agent         TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The dashboard's inbox: a widget's conversations, most recently updated first.
CREATE INDEX conversations_widget_updated ON conversations (widget_id, updated_at);

CREATE TABLE attachments (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    storage_name    TEXT NOT NULL UNIQUE,
    original_name   TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL CHECK (size_bytes >= 0),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    sender_type     TEXT NOT NULL CHECK (sender_type IN ('visitor', 'bot', 'agent', 'system')),
    sender_name     TEXT,
    message         TEXT NOT NULL,
    attachment_id   BIGINT REFERENCES attachments (id),
    is_voice        BOOLEAN NOT NULL DEFAULT FALSE,
    -- The sender's idempotency key. NULLs are distinct, so messages without one never clash.
    client_id       TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, client_id)
);

-- Polling: a conversation's messages after a cursor, in id order.
CREATE INDEX messages_conversation_id ON messages (conversation_id, id);

CREATE TABLE read_states (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    reader          TEXT COLLATE "C" NOT NULL,
    last_read_id    BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, reader)
);

CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    reactor    TEXT COLLATE "C" NOT NULL,
    emoji      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (message_id, reactor, emoji)
);
