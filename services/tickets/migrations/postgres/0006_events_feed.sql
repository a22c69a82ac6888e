-- The notifications service's feed reads every ticket's events in (created_at, id) order.
CREATE INDEX IF NOT EXISTS events_feed_idx ON events (created_at, id);
