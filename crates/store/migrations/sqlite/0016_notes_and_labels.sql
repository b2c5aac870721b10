-- Agents' private notes on a conversation (never shown to the visitor), with the agents they
-- mention; and labels, which admins define and agents put on conversations.
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    agent_id        INTEGER NOT NULL REFERENCES agents (id),
    body            TEXT NOT NULL,
    -- The ids of the agents mentioned, a JSON array.
    mentions        TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL
);

CREATE INDEX notes_conversation ON notes (conversation_id, id);

CREATE TABLE labels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    -- The name folded as emails are (ASCII letters lowercased), so "VIP" and "vip" are one label.
    name_key   TEXT NOT NULL UNIQUE,
    color      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    label_id        INTEGER NOT NULL REFERENCES labels (id),
    PRIMARY KEY (conversation_id, label_id)
);

-- The inbox filtered by a label.
CREATE INDEX conversation_labels_label ON conversation_labels (label_id, conversation_id);
