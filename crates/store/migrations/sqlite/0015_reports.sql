-- Reports. `handed_off_at`: the first time the conversation went to a person (status `human`:
-- the bot handed it off, or an agent took it or replied); NULL while only the bot has had it.
-- `closed_at`: when it was closed, NULL while it is open (reopening clears it, closing again
-- sets it anew). Both are set by the store's one status update from now on.
ALTER TABLE conversations ADD COLUMN handed_off_at TEXT;
ALTER TABLE conversations ADD COLUMN closed_at TEXT;

-- Conversations from before this migration: a closed one was closed at its last change (closing
-- is the last thing that can happen to it); one handed off at its first agent or system message
-- (the bot's handoff line), or, for one with a person and no such message, at its last change.
UPDATE conversations SET closed_at = updated_at WHERE status = 'closed';
UPDATE conversations SET handed_off_at = (
    SELECT MIN(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.sender_type IN ('agent', 'system')
);
UPDATE conversations SET handed_off_at = updated_at
    WHERE handed_off_at IS NULL AND status = 'human';

-- A report reads the conversations started in its range.
CREATE INDEX conversations_created ON conversations (created_at);
