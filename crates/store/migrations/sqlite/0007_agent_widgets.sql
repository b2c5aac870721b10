-- Which widgets' conversations an agent may see and answer. An agent with no rows here sees every
-- widget's (the default, and what admins always see).
CREATE TABLE agent_widgets (
    agent_id  INTEGER NOT NULL REFERENCES agents (id),
    widget_id INTEGER NOT NULL REFERENCES widgets (id),
    PRIMARY KEY (agent_id, widget_id)
);
