-- Bot turns as durable jobs: one per visitor message (UNIQUE message_id), claimed with
-- `FOR UPDATE SKIP LOCKED` and a lease so a crashed worker's job is picked up again, and
-- retried with back-off.
CREATE TABLE bot_jobs (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    message_id      BIGINT NOT NULL UNIQUE REFERENCES messages (id),
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    run_at          TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    outcome         TEXT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX bot_jobs_due ON bot_jobs (state, run_at);
CREATE INDEX bot_jobs_conversation ON bot_jobs (conversation_id, id);
