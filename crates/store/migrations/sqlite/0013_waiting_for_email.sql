-- Business hours. `waiting_for_email_at`: when a visitor who asked for a human while the team
-- was away left their email (or had one already), so the agent's reply is emailed at once;
-- cleared by that reply. The partial index serves the inbox's "waiting for email" filter.
ALTER TABLE conversations ADD COLUMN waiting_for_email_at TEXT;
CREATE INDEX conversations_waiting_for_email ON conversations (updated_at)
    WHERE waiting_for_email_at IS NOT NULL;
