-- Saved replies: text any agent inserts in a reply by its shortcut (typing `/refund`).
CREATE TABLE saved_replies (
    id         BIGSERIAL PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE,
    text       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
