-- A visitor's rating of a conversation (1-5, with an optional comment): at most one each.
CREATE TABLE ratings (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    score           INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment         TEXT,
    created_at      TEXT NOT NULL
);
