-- Agents' private notes on a conversation (never shown to the visitor), with the agents they
-- mention; and labels, which admins define and agents put on conversations.
CREATE TABLE notes (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    agent_id        BIGINT NOT NULL REFERENCES agents (id),
    body            TEXT NOT NULL,
    -- The ids of the agents mentioned, a JSON array.
    mentions        JSONB NOT NULL DEFAULT '[]',
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX notes_conversation ON notes (conversation_id, id);

CREATE TABLE labels (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    -- The name folded as emails are (ASCII letters lowercased), so "VIP" and "vip" are one label.
    name_key   TEXT NOT NULL UNIQUE,
    color      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE conversation_labels (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    label_id        BIGINT NOT NULL REFERENCES labels (id),
    PRIMARY KEY (conversation_id, label_id)
);

-- The inbox filtered by a label.
CREATE INDEX conversation_labels_label ON conversation_labels (label_id, conversation_id);
