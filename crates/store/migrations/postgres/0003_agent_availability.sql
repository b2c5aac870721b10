-- Agent availability for the dashboard and the widget's "agents online" indicator: what the agent
-- chose, and when their dashboard was last heard from (so a closed laptop drops out on its own).
ALTER TABLE agents ADD COLUMN availability TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE agents ADD COLUMN last_seen_at TIMESTAMPTZ;

-- The inbox's tabs: conversations by status (and assignee), most recently updated first.
CREATE INDEX conversations_status_updated ON conversations (status, updated_at);
CREATE INDEX conversations_assignee_updated ON conversations (assigned_agent_id, updated_at);
