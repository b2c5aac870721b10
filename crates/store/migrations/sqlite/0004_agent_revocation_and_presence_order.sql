-- Revoking an agent: their token stops working at once; their messages keep their name.
ALTER TABLE agents ADD COLUMN revoked_at TEXT;

-- The newest presence update a dashboard has made (its own clock, ms): a page's "offline" sent
-- while closing that reaches the server after the reloaded page's "online" is older, and ignored.
ALTER TABLE agents ADD COLUMN presence_seq INTEGER NOT NULL DEFAULT 0;
