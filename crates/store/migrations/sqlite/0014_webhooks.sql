-- Outbound webhooks. `events`: the event names a webhook wants, comma-separated (empty: every
-- event); `widget_id`: only that widget's conversations (none: every widget's). The secret signs
-- each delivery and is stored as it is, since signing needs it. A disabled webhook is given no
-- new deliveries and sends none of those it has.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL DEFAULT '',
    widget_id   INTEGER REFERENCES widgets (id),
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);

-- One event for one webhook, inserted in the transaction of the change it announces. It names
-- what changed (the conversation, the message) and keeps the change's own facts (`detail`:
-- the status or assignee before and after); the body is written when it is sent. A worker
-- claims one by moving it to `sending` with a lease; one whose lease ran out may have been
-- received and becomes `unknown`, never `pending` again. A later delivery of the same
-- conversation to the same webhook waits while an earlier one is `pending` or `sending`.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id),
    event            TEXT NOT NULL,
    conversation_id  INTEGER REFERENCES conversations (id),
    message_id       INTEGER REFERENCES messages (id),
    detail           TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'unknown')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    last_attempt_at  TEXT,
    response_code    INTEGER,
    response_snippet TEXT,
    duration_ms      INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, conversation_id, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_conversation ON webhook_deliveries (conversation_id);
