-- Email. `visitor_seen_at`: when the visitor's widget was last heard from (any widget call about
-- the conversation, or the open widget's heartbeat); an agent's reply to a visitor not heard
-- from since is emailed.
ALTER TABLE conversations ADD COLUMN visitor_seen_at TIMESTAMPTZ;

-- Mails as durable jobs. `dedupe_key` is unique, so a mail is enqueued once whatever retries
-- the caller makes. A job is claimed by moving it to `sending` with a lease; one whose lease
-- ran out may have been delivered and becomes `unknown`, never `pending` again.
-- `up_to_message_id`: the last message a conversation mail covers, fixed before it is sent.
CREATE TABLE mail_jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('replies', 'transcript', 'account_link')),
    dedupe_key       TEXT NOT NULL UNIQUE,
    conversation_id  BIGINT REFERENCES conversations (id),
    recipient        TEXT NOT NULL,
    payload          JSONB NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    run_at           TIMESTAMPTZ NOT NULL,
    locked_until     TIMESTAMPTZ,
    up_to_message_id BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);

CREATE INDEX mail_jobs_due ON mail_jobs (state, run_at);
CREATE INDEX mail_jobs_conversation ON mail_jobs (conversation_id, id);
-- One batch of offline replies in the making per conversation at a time, so two mails never
-- cover the same reply.
CREATE UNIQUE INDEX mail_jobs_one_reply_batch ON mail_jobs (conversation_id)
    WHERE kind = 'replies' AND state IN ('pending', 'sending');
