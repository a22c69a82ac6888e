-- Where the notifications service is in the tickets service's event feed: one row.
CREATE TABLE feed_cursor (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    cursor TEXT,
    updated_at BIGINT NOT NULL
);

-- One mail per (event, recipient, kind): the unique key is what makes applying an event twice
-- (after a crash between reading the feed and storing the cursor) write nothing new. The
-- message is rendered when the row is written, so every attempt sends the same bytes and the
-- same Message-ID.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    message_id TEXT NOT NULL,
    -- JSON: in_reply_to, references, list_unsubscribe.
    headers TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (event_id, recipient_id, kind)
);
CREATE INDEX outbox_due_idx ON outbox (state, next_attempt_at);
CREATE INDEX outbox_ticket_idx ON outbox (ticket_id, created_at, id);
CREATE INDEX outbox_state_idx ON outbox (state, created_at, id);

-- A user's choice for one kind of mail; no row = the kind's default.
CREATE TABLE preferences (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE INDEX preferences_kind_idx ON preferences (kind, enabled);
