-- Outbound webhooks. `events`: the event names a webhook wants, comma-separated (empty: every
-- event); `widget_id`: only that widget's conversations (none: every widget's). The secret signs
-- each delivery and is stored as it is, since signing needs it. A disabled webhook is given no
-- new deliveries and sends none of those it has.
CREATE TABLE webhooks (
    id          BIGSERIAL PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL DEFAULT '',
    widget_id   BIGINT REFERENCES widgets (id),
    secret      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

-- One event for one webhook, inserted in the transaction of the change it announces. It names
-- what changed (the conversation, the message) and keeps the change's own facts (`detail`:
-- the status or assignee before and after); the body is written when it is sent. A worker
-- claims one by moving it to `sending` with a lease; one whose lease ran out may have been
-- received and becomes `unknown`, never `pending` again. A later delivery of the same
-- conversation to the same webhook waits while an earlier one is `pending` or `sending`.
CREATE TABLE webhook_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    webhook_id       BIGINT NOT NULL REFERENCES webhooks (id),
    event            TEXT NOT NULL,
    conversation_id  BIGINT REFERENCES conversations (id),
    message_id       BIGINT REFERENCES messages (id),
    detail           JSONB NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'unknown')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    locked_until     TIMESTAMPTZ,
    last_attempt_at  TIMESTAMPTZ,
    response_code    BIGINT,
    response_snippet TEXT,
    duration_ms      BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, conversation_id, id);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_conversation ON webhook_deliveries (conversation_id);
