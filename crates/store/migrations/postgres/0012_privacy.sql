-- Privacy: finding one visitor's conversations by email (ASCII letters in any case) for an
-- export or an erasure. Retention reads the existing (widget_id, updated_at) index.
CREATE INDEX conversations_visitor_email ON conversations (lower(visitor_email));
