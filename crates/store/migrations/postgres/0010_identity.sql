-- Verified identity and what the visitor told the pre-chat form.
--
-- A widget's identity secret signs its site's user tokens (HS256 JWTs, or Intercom-style
-- HMACs of a user id); NULL until one is made. A conversation's `user_id` is the verified
-- user's id (the token's `sub`); `name_verified`/`email_verified` say whether the name and
-- email came from a signed token rather than from the visitor. `attributes` holds the pre-chat
-- form's other answers as a JSON object; `consent_at` when the visitor ticked the consent box;
-- `locale` the language the widget spoke.
ALTER TABLE widgets ADD COLUMN identity_secret TEXT;
ALTER TABLE conversations ADD COLUMN user_id TEXT;
ALTER TABLE conversations ADD COLUMN name_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN attributes JSONB NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN consent_at TIMESTAMPTZ;
ALTER TABLE conversations ADD COLUMN locale TEXT;

-- A verified user's conversations on a widget, newest first.
CREATE INDEX conversations_widget_user ON conversations (widget_id, user_id, updated_at);
