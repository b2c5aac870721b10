-- Automatic assignment.
--
-- `assigned_at`: when the conversation's current assignee got it (NULL while nobody has it); an
-- assignee who has not replied within the widget's `settings.assignment.unassign_after_mins`
-- loses it. Conversations assigned before this migration count from their last change.
-- `passed_agent_id`: the agent it was last taken back from for not replying; automatic
-- assignment offers it to the others.
ALTER TABLE conversations ADD COLUMN assigned_at TEXT;
ALTER TABLE conversations ADD COLUMN passed_agent_id INTEGER REFERENCES agents (id);
UPDATE conversations SET assigned_at = updated_at WHERE assigned_agent_id IS NOT NULL;

-- Round-robin's turn per widget: the agent who got the widget's last automatic assignment.
CREATE TABLE assignment_turns (
    widget_id     INTEGER PRIMARY KEY REFERENCES widgets (id),
    last_agent_id INTEGER NOT NULL REFERENCES agents (id),
    updated_at    TEXT NOT NULL
);

-- The queue: a widget's open conversations nobody has.
CREATE INDEX conversations_queue ON conversations (widget_id, handed_off_at, id)
    WHERE status = 'human' AND assigned_agent_id IS NULL;
-- An agent's open conversations, counted against the capacity.
CREATE INDEX conversations_assignee ON conversations (assigned_agent_id, status);
