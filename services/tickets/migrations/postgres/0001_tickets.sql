-- Tickets, comments and events. Ids sort byte-wise (COLLATE "C") for cheap keyset paging.
CREATE TABLE tickets (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting', 'resolved', 'closed')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    requester_id TEXT COLLATE "C" NOT NULL,
    assignee_id TEXT COLLATE "C",
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Full-text search over subject and description ('simple': no stemming, like FTS5's
    -- default tokenizer on SQLite). Generated, so it can never drift from the text.
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', subject || ' ' || description)) STORED
);
-- Newest-first keyset paging, alone and under each filter.
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_status_idx ON tickets (status, created_at, id);
CREATE INDEX tickets_priority_idx ON tickets (priority, created_at, id);
CREATE INDEX tickets_assignee_idx ON tickets (assignee_id, created_at, id);
CREATE INDEX tickets_requester_idx ON tickets (requester_id, created_at, id);
CREATE INDEX tickets_search_idx ON tickets USING GIN (search);

CREATE TABLE comments (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    ticket_id TEXT COLLATE "C" NOT NULL REFERENCES tickets (id),
    author_id TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
);
CREATE INDEX comments_ticket_idx ON comments (ticket_id, created_at, id);
CREATE INDEX comments_search_idx ON comments USING GIN (search);

CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    ticket_id TEXT COLLATE "C" NOT NULL REFERENCES tickets (id),
    actor_id TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    -- 1 for events about internal notes: hidden from requesters like the note itself.
    internal INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_ticket_idx ON events (ticket_id, created_at, id);
