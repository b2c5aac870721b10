-- When an agent's rights last shrank (fewer widgets, no longer admin, a session or token ended):
-- every node's watcher closes the sockets it signed for them, which then reconnect and are
-- authorised again under the new rights.
CREATE TABLE access_changes (
    agent_id   BIGINT PRIMARY KEY REFERENCES agents (id),
    changed_at TIMESTAMPTZ NOT NULL
);
