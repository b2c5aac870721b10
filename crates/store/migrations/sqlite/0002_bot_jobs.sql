-- Bot turns as durable jobs: one per visitor message (UNIQUE message_id), claimed with a lease
-- so a crashed worker's job is picked up again, and retried with back-off.
CREATE TABLE bot_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id),
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    run_at          TEXT NOT NULL,
    locked_until    TEXT,
    outcome         TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX bot_jobs_due ON bot_jobs (state, run_at);
CREATE INDEX bot_jobs_conversation ON bot_jobs (conversation_id, id);
